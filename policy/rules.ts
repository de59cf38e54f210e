// The checks behind the `dualstack` policy pack, as pure functions over plain resource data
// (`{type, name, props, opts}`), so unit tests feed them recorded inputs without a Pulumi engine.
// No @pulumi/policy import here: policies.ts adapts these to the CrossGuard API.
//
// Under `pulumi preview` a property that is not known yet is a proxy that throws when read
// (@pulumi/policy proxy.js `unknownCheckingProxy`); the policy server turns that into an advisory
// "can't run policy ... during preview" instead of a violation. So these functions must never
// catch exceptions, and must read only what they need.

/** One registered resource as a policy sees it: its inputs and the options the engine passes on. */
export interface ResourceData {
    type: string;
    name: string;
    props: Record<string, unknown>;
    /**
     * Resource options as @pulumi/policy >= 1.x passes them (`args.opts`). Recorded fixtures may leave
     * them out; the option checks then do not run.
     */
    opts?: { additionalSecretOutputs?: readonly string[]; deleteBeforeReplace?: boolean };
}

/** Policy config (`--policy-pack-config`), with defaults applied. */
export interface RuleConfig {
    /** Expected NAT outgoing on the Calico IPv6 pool; mirrors `dualstack:calico.ipv6NatOutgoing`. */
    ipv6NatOutgoing: boolean;
}

export const DEFAULT_CONFIG: RuleConfig = { ipv6NatOutgoing: true };

export const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";
export const INSTALLATION = "kubernetes:operator.tigera.io/v1:Installation";
export const REMOTE_COMMAND = "command:remote:Command";
export const LOCAL_COMMAND = "command:local:Command";

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
    return typeof v === "string" ? v : undefined;
}

/** `traefik`, `traefik/traefik` and `oci://ghcr.io/traefik/helm/traefik` all name the chart `traefik`. */
export function chartName(props: Obj): string | undefined {
    const chart = str(props.chart);
    if (chart === undefined) return undefined;
    const parts = chart.split("/").filter((p) => p !== "");
    return parts[parts.length - 1];
}

function isRelease(r: ResourceData, chart: string): boolean {
    return r.type === HELM_RELEASE && chartName(r.props) === chart;
}

// ---------------------------------------------------------------------------------------------
// 1. Traefik's Service is RequireDualStack with both families, in the chart >= 40 layout.
// Chart v40.0.0 (commit b9f3ed34, "fix(service)!: align syntax with upstream") moved these keys under
// `service.spec`; its values schema does not restrict `service`, so the old keys still validate and are
// silently ignored, leaving a single-stack Service (../shared domain-facts F.1).

/** Top-level `service.*` keys that chart v40 removed in favour of `service.spec.*`. */
export const TRAEFIK_REMOVED_SERVICE_KEYS = [
    "externalIPs",
    "ipFamilies",
    "ipFamilyPolicy",
    "loadBalancerClass",
    "loadBalancerSourceRanges",
    "type",
] as const;

export function traefikServiceDualStack(r: ResourceData): string[] {
    if (!isRelease(r, "traefik")) return [];
    const where = `Helm release ${r.name} (chart traefik)`;
    const values = r.props.values;
    if (!isObj(values)) {
        return [
            `${where} has no inline values, so its Service is single-stack by default` +
                (r.props.valueYamlFiles !== undefined ? " (values in valueYamlFiles cannot be checked; pass them as values)" : "") +
                `: set values.service.spec.ipFamilyPolicy: RequireDualStack and values.service.spec.ipFamilies: [IPv4, IPv6].`,
        ];
    }
    const service = values.service;
    if (service !== undefined && !isObj(service)) return [`${where}: values.service must be a map.`];
    const svc: Obj = service ?? {};
    const out: string[] = [];
    if (svc.enabled === false) out.push(`${where} disables its Service (values.service.enabled: false); the cluster then has no dual-stack entry point.`);
    for (const key of TRAEFIK_REMOVED_SERVICE_KEYS) {
        if (svc[key] !== undefined) {
            out.push(`${where} sets values.service.${key}, which chart >= 40 silently ignores; move it to values.service.spec.${key}.`);
        }
    }
    const spec = svc.spec;
    if (spec !== undefined && !isObj(spec)) return [...out, `${where}: values.service.spec must be a map.`];
    const s: Obj = spec ?? {};
    if (s.ipFamilyPolicy !== "RequireDualStack") {
        out.push(`${where} sets values.service.spec.ipFamilyPolicy to ${JSON.stringify(s.ipFamilyPolicy ?? null)}; it must be "RequireDualStack" (PreferDualStack silently falls back to one family).`);
    }
    const fams = s.ipFamilies;
    const list = Array.isArray(fams) ? fams.map(String) : [];
    const both = list.length === 2 && list.includes("IPv4") && list.includes("IPv6");
    if (!both) {
        out.push(`${where} sets values.service.spec.ipFamilies to ${JSON.stringify(fams ?? null)}; it must list both families, e.g. [IPv4, IPv6] (primary family first).`);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// 2. The Calico IPv6 pool has natOutgoing set explicitly, to what the stack asks for.
// The operator defaults natOutgoing to Disabled for IPv6 pools and Enabled for IPv4 pools
// (tigera/operator pkg/controller/ippool/defaults.go; ../shared domain-facts B.2). A policy cannot read
// the stack's config, so the expected value comes from this pack's own config (`ipv6NatOutgoing`).

/** The Installation spec a resource produces: a CustomResource's `spec`, or the tigera-operator chart's `installation` values. */
function installationSpec(r: ResourceData): { where: string; spec: unknown } | undefined {
    const p = r.props;
    if (r.type === INSTALLATION || (p.apiVersion === "operator.tigera.io/v1" && p.kind === "Installation")) {
        return { where: `Calico Installation ${r.name}`, spec: p.spec };
    }
    if (isRelease(r, "tigera-operator")) {
        const values = isObj(p.values) ? p.values : {};
        const inst = values.installation;
        // With installation.enabled=false the chart renders no Installation; a separate CustomResource does.
        if (isObj(inst) && inst.enabled === false) return undefined;
        // The chart renders `installation` (minus `enabled`) verbatim as Installation.spec (domain-facts B.1).
        return { where: `Helm release ${r.name} (chart tigera-operator, values.installation)`, spec: inst };
    }
    return undefined;
}

/** A pool is IPv6 when its CIDR is an IPv6 literal; a colon only ever appears in IPv6 text. */
function isIpv6Pool(pool: Obj): boolean {
    return typeof pool.cidr === "string" && pool.cidr.includes(":");
}

export function calicoIpv6NatOutgoing(r: ResourceData, config: RuleConfig = DEFAULT_CONFIG): string[] {
    const found = installationSpec(r);
    if (!found) return [];
    const { where, spec } = found;
    const want = config.ipv6NatOutgoing ? "Enabled" : "Disabled";
    const pools = isObj(spec) && isObj(spec.calicoNetwork) ? spec.calicoNetwork.ipPools : undefined;
    const v6 = Array.isArray(pools) ? pools.filter(isObj).filter(isIpv6Pool) : [];
    if (v6.length === 0) {
        return [
            `${where} has no IPv6 pool in calicoNetwork.ipPools; without one the operator creates only an IPv4 pool. ` +
                `Add the IPv6 pod CIDR as a pool with natOutgoing: ${want}.`,
        ];
    }
    const out: string[] = [];
    for (const pool of v6) {
        const nat = pool.natOutgoing;
        const id = `IPv6 pool ${String(pool.cidr)}`;
        if (nat === undefined) {
            out.push(`${where}: ${id} leaves natOutgoing unset, so the operator uses its IPv6 default (Disabled); set natOutgoing: ${want} explicitly.`);
        } else if (nat !== "Enabled" && nat !== "Disabled") {
            out.push(`${where}: ${id} has natOutgoing ${JSON.stringify(nat)}; the operator accepts only "Enabled" or "Disabled".`);
        } else if (nat !== want) {
            out.push(
                `${where}: ${id} has natOutgoing ${nat} but the policy config expects ${want} (ipv6NatOutgoing=${String(config.ipv6NatOutgoing)}); ` +
                    `align dualstack:calico.ipv6NatOutgoing and the policy config.`,
            );
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// 3. Commands that print credentials do not log them.
// The CLI masks only secret *config* values in its output; a kubeconfig or join token printed by a
// command is not masked (pulumi pkg/engine/events.go). `logging: "none"` keeps stdout out of the log;
// `additionalSecretOutputs: ["stdout"]` keeps it encrypted in the state and out of diffs
// (pulumi-command#134, #260).

/** Fragments that mark a command printing a kubeconfig or a join token. */
export const CREDENTIAL_MARKERS = ["k3s.yaml", "kubeconfig admin", "token create", "node-token", "admin.conf"] as const;

function commandText(props: Obj): string {
    return [str(props.create), str(props.update)].filter((s): s is string => s !== undefined).join("\n");
}

export function credentialCommandsSilent(r: ResourceData): string[] {
    if (r.type !== REMOTE_COMMAND && r.type !== LOCAL_COMMAND) return [];
    const text = commandText(r.props);
    const hits = CREDENTIAL_MARKERS.filter((m) => text.includes(m));
    if (hits.length === 0) return [];
    const why = `command ${r.name} handles credentials (mentions ${hits.map((h) => `"${h}"`).join(", ")})`;
    const out: string[] = [];
    if (r.props.logging !== "none") {
        out.push(`${why} but logs its output (logging ${JSON.stringify(r.props.logging ?? "stdoutAndStderr (default)")}); set logging: "none".`);
    }
    if (r.opts && !(r.opts.additionalSecretOutputs ?? []).includes("stdout")) {
        out.push(`${why} but its stdout is not a secret; add the resource option additionalSecretOutputs: ["stdout"].`);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// 4. No `IPv6DualStack` feature gate anywhere.
// The gate was removed in Kubernetes 1.25 (kube-controller-manager's copy in 1.27); passing it makes a
// component exit with `unrecognized feature gate: IPv6DualStack` (domain-facts C.7).

export const REMOVED_GATE = "IPv6DualStack";

/** Paths (`values.extraArgs[2]`, `spec.featureGates.IPv6DualStack`) where `needle` occurs in a key or a string. */
export function findString(value: unknown, needle: string, path = ""): string[] {
    if (typeof value === "string") return value.includes(needle) ? [path || "(value)"] : [];
    if (Array.isArray(value)) return value.flatMap((v, i) => findString(v, needle, `${path}[${i}]`));
    if (isObj(value)) {
        return Object.keys(value)
            .sort()
            .flatMap((k) => {
                const p = path ? `${path}.${k}` : k;
                return [...(k.includes(needle) ? [p] : []), ...findString(value[k], needle, p)];
            });
    }
    return [];
}

export function noIpv6DualStackGate(r: ResourceData): string[] {
    const paths = [...new Set(findString(r.props, REMOVED_GATE))];
    if (paths.length === 0) return [];
    return [
        `${r.type} ${r.name} mentions the ${REMOVED_GATE} feature gate at ${paths.join(", ")}; the gate was removed in Kubernetes 1.25 ` +
            `and components refuse to start with it ("unrecognized feature gate"). Dual-stack needs no gate; remove it.`,
    ];
}

// ---------------------------------------------------------------------------------------------
// 5. Every command that installs something on a host has a delete that undoes it.
// A remote Command's delete runs on destroy and before a replacement; without one, `pulumi destroy`
// leaves k3s/k0s, addresses and sysctls behind. Replacement is create-before-delete by default, so an
// uninstalling delete would run after the new install: deleteBeforeReplace must be set
// (../shared pulumi-notes 1.3).

/** What marks a create as installing something, and what it installs. */
export const INSTALL_MARKERS: readonly { pattern: RegExp; what: string }[] = [
    { pattern: /install\.sh/, what: "an install script" },
    { pattern: /get\.k3s\.io/, what: "k3s (get.k3s.io)" },
    { pattern: /get\.k0s\.sh/, what: "k0s (get.k0s.sh)" },
    { pattern: /\bk0s\s+install\b/, what: "a k0s service (k0s install)" },
    // `ip -6 addr show` is a read-only probe; only adding or replacing an address changes the host.
    { pattern: /\bip\s+-6\s+a(?:ddr(?:ess)?)?\s+(?:add|replace)\b/, what: "an IPv6 address (ip -6 addr add)" },
    { pattern: /sysctl\.d/, what: "a sysctl drop-in (sysctl.d)" },
    { pattern: /modules-load\.d/, what: "a kernel module drop-in (modules-load.d)" },
];

/**
 * A command that changes what another step on the same host installed (a worker's upgrade step
 * re-runs the installer over its install) has no delete of its own: the owner's delete removes
 * everything. It says so with this line in its create or update (components/steps.ts cleanupOwnerLine
 * writes it; the program's own registrations are checked against this rule in
 * test/unit/policy/rules.program.spec.ts) and is replaced with its owner through its triggers,
 * so no replacement can leave its changes behind. The line names the owner's step id.
 */
export const CLEANUP_OWNER_PREFIX = "# dualstack: cleaned up by the delete of ";

/** The owner step a create declares (cleanupOwnerLine), if any. */
export function cleanupOwnerOf(create: string): string | undefined {
    const m = new RegExp(`^${CLEANUP_OWNER_PREFIX}([A-Za-z0-9._-]+)$`, "m").exec(create);
    return m ? m[1] : undefined;
}

export function installCommandsReversible(r: ResourceData): string[] {
    if (r.type !== REMOTE_COMMAND) return [];
    // A command without a create that installs on update (a worker's upgrade step) changes the
    // host as much as one that installs on create.
    const runs = commandText(r.props);
    const what = INSTALL_MARKERS.filter((m) => m.pattern.test(runs)).map((m) => m.what);
    if (what.length === 0) return [];
    const why = `command ${r.name} installs ${what.join(", ")}`;
    const owner = cleanupOwnerOf(runs);
    if (owner !== undefined) {
        // Triggers are read only here: a marked command must be replaced with its owner.
        const triggers = r.props.triggers;
        if (Array.isArray(triggers) && triggers.length > 0) return [];
        return [
            `${why} and says the delete of ${owner} cleans it up, but has no triggers; tie it to ${owner} (triggers with its id) so that replacing ${owner} replaces it too, or give it its own delete.`,
        ];
    }
    const out: string[] = [];
    const del = str(r.props.delete);
    if (del === undefined || del.trim() === "") {
        out.push(`${why} but has no delete; give it a delete that removes exactly what create adds, so pulumi destroy leaves the host clean.`);
    }
    if (r.opts && r.opts.deleteBeforeReplace !== true) {
        out.push(`${why} without deleteBeforeReplace: true; a replacement would run the new create first and then the old delete, undoing it.`);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------

export interface Rule {
    /** Policy name in the pack (stable: users reference it in --policy-pack-config). */
    name: string;
    description: string;
    check: (r: ResourceData, config: RuleConfig) => string[];
}

export const RULES: readonly Rule[] = [
    {
        name: "traefik-service-dual-stack",
        description: "The Traefik Helm release's Service is RequireDualStack with both IP families, in the chart >= 40 service.spec layout.",
        check: (r) => traefikServiceDualStack(r),
    },
    {
        name: "calico-ipv6-nat-outgoing",
        description: "The Calico Installation has an IPv6 pool whose natOutgoing is set explicitly and matches ipv6NatOutgoing.",
        check: (r, c) => calicoIpv6NatOutgoing(r, c),
    },
    {
        name: "credential-commands-not-logged",
        description: "Commands that print a kubeconfig or join token use logging: none and keep stdout secret.",
        check: (r) => credentialCommandsSilent(r),
    },
    {
        name: "no-ipv6dualstack-feature-gate",
        description: "No resource input mentions the IPv6DualStack feature gate (removed in Kubernetes 1.25).",
        check: (r) => noIpv6DualStackGate(r),
    },
    {
        name: "install-commands-have-delete",
        description: "Remote commands that install something on a host have a delete and deleteBeforeReplace.",
        check: (r) => installCommandsReversible(r),
    },
];

/** Every violation of every rule for one resource, prefixed with the rule name. */
export function checkAll(r: ResourceData, config: RuleConfig = DEFAULT_CONFIG): string[] {
    return RULES.flatMap((rule) => rule.check(r, config).map((v) => `${rule.name}: ${v}`));
}
