// The stack config contract: the shapes and defaults of every `dualstack:*` key.
// Shapes live here (zod); the rules that relate values to each other (CIDR overlap, capacity,
// address validity, version tags) live in plan.ts so that both report into one problem list.
import { z } from "zod";
import { chartSourcesSchema } from "./charts";
import { Problem, Problems } from "./problems";
import { registriesSchema } from "./registries";
import { etcdSnapshotsSchema } from "./snapshots";

export const NAMESPACE = "dualstack";

const safeString = z.string().min(1);

const sshProxy = z.strictObject({
    host: safeString,
    user: safeString.default("root"),
    port: z.number().int().min(1).max(65535).default(22),
    privateKeyPath: safeString.optional(),
    privateKey: safeString.optional(),
    agentSocketPath: safeString.optional(),
    hostKey: safeString.optional(),
    dialErrorLimit: z.number().int().min(-1).optional(),
    perDialTimeout: z.number().int().min(0).optional(),
});

export const sshSchema = z.strictObject({
    user: safeString.default("root"),
    port: z.number().int().min(1).max(65535).default(22),
    privateKeyPath: safeString.optional(),
    privateKey: safeString.optional(),
    agentSocketPath: safeString.optional(),
    proxy: sshProxy.optional(),
    // A booting host refuses connections for a while; the provider default (10 dials, ~8 s) is too short.
    dialErrorLimit: z.number().int().min(-1).default(30),
    perDialTimeout: z.number().int().min(0).default(15),
});

export const nodeSchema = z.strictObject({
    name: safeString,
    host: safeString,
    role: z.enum(["control-plane", "worker"]),
    interface: safeString,
    ipv4: safeString.optional(),
    ipv6: safeString.optional(),
    hostKey: safeString.optional(),
    labels: z.record(z.string(), z.string()).default({}),
    taints: z.array(z.string()).default([]),
});

export const networkSchema = z.strictObject({
    nodeIpv6Prefix: safeString.optional(),
    nodeIpv4Prefix: safeString.optional(),
    podCidrs: z.array(safeString).default(["10.42.0.0/16", "fd00:42::/56"]),
    serviceCidrs: z.array(safeString).default(["10.43.0.0/16", "fd00:43::/112"]),
    nodeCidrMaskSizes: z
        .strictObject({ ipv4: z.number().int().default(24), ipv6: z.number().int().default(64) })
        .default({ ipv4: 24, ipv6: 64 }),
    // k0s only: `calico` lets k0s deploy Calico itself; `custom` hands the CNI to the Calico component.
    provider: z.enum(["calico", "custom"]).default("calico"),
});

// calico.bgp: peering with the upstream router (components/calico/bgp-rules.ts judges the values).
export const bgpPeerSchema = z.strictObject({
    peerIP: safeString,
    asNumber: z.number().int(),
    /** A secret: kept in a Kubernetes Secret the BGPPeer references, never in a plan or output. */
    password: safeString.optional(),
    nodeSelector: safeString.optional(),
    keepOriginalNextHop: z.boolean().default(false),
});

export const bgpSchema = z.strictObject({
    asNumber: z.number().int().default(64512),
    nodeToNodeMesh: z.boolean().default(true),
    peers: z.array(bgpPeerSchema).default([]),
    advertise: z
        .strictObject({
            serviceClusterIPs: z.boolean().default(false),
            serviceExternalIPs: z.boolean().default(false),
            serviceLoadBalancerIPs: z.boolean().default(false),
        })
        .default({ serviceClusterIPs: false, serviceExternalIPs: false, serviceLoadBalancerIPs: false }),
});

const encapsulation = z.enum(["IPIP", "IPIPCrossSubnet", "VXLAN", "VXLANCrossSubnet", "None"]);

export const calicoSchema = z.strictObject({
    version: safeString.default("v3.32.1"),
    mode: z.enum(["bird", "vxlan"]).default("bird"),
    encapsulation: z.strictObject({ ipv4: encapsulation.optional(), ipv6: encapsulation.optional() }).default({}),
    blockSizes: z
        .strictObject({ ipv4: z.number().int().default(26), ipv6: z.number().int().default(122) })
        .default({ ipv4: 26, ipv6: 122 }),
    ipv6NatOutgoing: z.boolean().default(true),
    bgp: bgpSchema.optional(),
});

export const traefikSchema = z.strictObject({
    chartVersion: safeString.default("41.3.0"),
    loadBalancer: z.enum(["servicelb", "metallb", "externalIPs", "none"]).optional(),
    externalIPs: z.array(safeString).default([]),
    dashboard: z.boolean().default(false),
});

export const metallbSchema = z.strictObject({
    chartVersion: safeString.default("0.16.1"),
    addresses: z.array(safeString).default([]),
    loadBalancerIPs: z.array(safeString).default([]),
});

export const installSchema = z.strictObject({
    source: z.enum(["script", "airgap"]).default("script"),
    airgapDir: safeString.optional(),
    /** `{<file>: <sha256>}` checked before a downloaded installer or binary is used (installers.ts). */
    sha256: z.record(z.string(), z.string()).optional(),
});

export const clusterSchema = z.strictObject({
    kubeProxyMode: z.enum(["iptables", "ipvs", "nftables"]).optional(),
    // k0s: controllers also run workloads (`--enable-worker --no-taints`). k3s servers always do.
    controllersRunWorkloads: z.boolean().default(true),
    extraArgs: z
        .strictObject({
            apiServer: z.array(z.string()).default([]),
            controllerManager: z.array(z.string()).default([]),
            kubelet: z.array(z.string()).default([]),
            kubeProxy: z.array(z.string()).default([]),
        })
        .default({ apiServer: [], controllerManager: [], kubelet: [], kubeProxy: [] }),
    /** k0s join token lifetime; short because a leaked token grants a node join. */
    tokenExpiry: safeString.default("1h"),
    /** VIP / load balancer in front of the control planes (registration.ts). */
    registrationAddress: safeString.optional(),
    /** Workers/agents restarted at once on an upgrade; default 10% of them, at least 1 (batches.ts). */
    workerUpgradeBatch: z.number().int().min(1).optional(),
    etcdSnapshots: etcdSnapshotsSchema.optional(),
});

export const hostPrepSchema = z.strictObject({
    enabled: z.boolean().default(true),
});

export const checksSchema = z.strictObject({
    enabled: z.boolean().default(true),
    probeImage: safeString.default("busybox:1.37.0"),
    egressTarget: safeString.optional(),
    timeoutSeconds: z.number().int().min(30).max(3600).default(600),
    /**
     * Re-run the check on every `pulumi up` (a per-up trigger, so every preview shows the check as a
     * replacement). `false` runs it only when its inputs change, for stacks gated on
     * `pulumi preview --expect-no-changes`.
     */
    rerunEveryUp: z.boolean().default(true),
});

export const configSchema = z.strictObject({
    distribution: z.enum(["k3s", "k0s", "kubeadm"]),
    version: safeString,
    ssh: sshSchema,
    nodes: z.array(nodeSchema).min(1),
    network: networkSchema.default(networkSchema.parse({})),
    calico: calicoSchema.default(calicoSchema.parse({})),
    traefik: traefikSchema.default(traefikSchema.parse({})),
    metallb: metallbSchema.default(metallbSchema.parse({})),
    install: installSchema.default(installSchema.parse({})),
    cluster: clusterSchema.default(clusterSchema.parse({})),
    hostPrep: hostPrepSchema.default(hostPrepSchema.parse({})),
    checks: checksSchema.default(checksSchema.parse({})),
    /** Per chart: a local packaged chart or a mirror instead of the upstream repository (components/charts.ts). */
    charts: chartSourcesSchema.default({}),
    /** Registry mirrors and credentials, in k3s' registries.yaml shape (registries.ts). */
    registries: registriesSchema.optional(),
    /** Optional fixed cluster join token (set it with --secret); generated with @pulumi/random otherwise. */
    token: z.string().min(32).optional(),
});

export type StackConfig = z.infer<typeof configSchema>;
export type NodeConfig = z.infer<typeof nodeSchema>;
export type SshConfig = z.infer<typeof sshSchema>;

/** The keys a stack may set, in the order README documents them. */
export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof StackConfig)[];

/** Keys whose value is a structured object or list (JSON in Pulumi's config store). */
const STRUCTURED = new Set(["ssh", "nodes", "network", "calico", "traefik", "metallb", "install", "cluster", "hostPrep", "checks", "charts", "registries"]);

/** A config source: Pulumi's runtime config or a stack file read by the render command. */
export type RawConfig = (key: string) => string | undefined;

export function keyPath(path: readonly PropertyKey[]): string {
    let out = `${NAMESPACE}:`;
    path.forEach((p, i) => {
        if (typeof p === "number") out += `[${p}]`;
        else out += i === 0 ? String(p) : `.${String(p)}`;
    });
    return out;
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
    let cur: unknown = obj;
    for (const p of path) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<PropertyKey, unknown>)[p as string];
    }
    return cur;
}

/** Config paths holding secrets: a problem report shows "(secret)" instead of their value. */
const SECRET_PATHS = new Set(["token", "ssh.privateKey", "ssh.proxy.privateKey", "calico.bgp.peers.password"]);

/** The value with every secret inside it replaced, so problem reports never print a key or token. */
export function redactSecrets(path: readonly PropertyKey[], value: unknown): unknown {
    const at = path.filter((x) => typeof x === "string").join(".");
    // Registry passwords sit under a user-chosen host name: registries.configs.<host>.auth.password.
    if (SECRET_PATHS.has(at) || /^registries\.configs\..+\.auth\.password$/.test(at)) return value === undefined ? undefined : "(secret)";
    if (Array.isArray(value)) return value.map((v, i) => redactSecrets([...path, i], v));
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets([...path, k], v)]));
    }
    return value;
}

/**
 * Stands for a value the stack file holds encrypted (`{secure: ...}`, what `pulumi config set
 * --secret` writes), where the config is read without decrypting it (the render command). Under
 * `pulumi up` Pulumi decrypts every value, so this never appears there.
 */
export const SECURE_VALUE = "\u0000dualstack:secure-value";

/** Levenshtein distance with adjacent transpositions (optimal string alignment). */
export function editDistance(a: string, b: string): number {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}

/** The closest of `names` to `word`, when it is close enough to be a typo of it. */
export function nearest(word: string, names: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestD = Infinity;
    for (const n of names) {
        const d = editDistance(word.toLowerCase(), n.toLowerCase());
        if (d < bestD) [best, bestD] = [n, d];
    }
    return best !== undefined && bestD <= Math.max(1, Math.min(3, Math.floor(best.length / 3))) ? best : undefined;
}

/**
 * Keys whose namespace is a near miss of `dualstack` (`dualstak:traefik`, `DualStack:nodes`):
 * Pulumi accepts any namespace, so without this the key is ignored and the defaults apply.
 */
export function nearMissNamespaces(allKeys: string[]): Problem[] {
    const out: Problem[] = [];
    for (const k of allKeys) {
        const colon = k.indexOf(":");
        if (colon < 0) continue;
        const ns = k.slice(0, colon);
        const rest = k.slice(colon + 1);
        if (ns === NAMESPACE || editDistance(ns.toLowerCase(), NAMESPACE) > 2) continue;
        const top = rest.split(/[.[]/)[0];
        const meant = (CONFIG_KEYS as string[]).includes(top) ? top : nearest(top, CONFIG_KEYS);
        out.push({
            key: k,
            value: "(set)",
            rule: `namespace "${ns}" is not "${NAMESPACE}", so this key is ignored and the defaults apply`,
            fix: meant ? `rename it to ${NAMESPACE}:${meant}${rest.slice(top.length)}` : `rename it into the ${NAMESPACE} namespace, one of ${CONFIG_KEYS.map((c) => `${NAMESPACE}:${c}`).join(", ")}`,
        });
    }
    return out;
}

/** What to write for a required or empty key, where a general "set it" would not say enough. */
const HINTS: Record<string, string> = {
    distribution: "set it to k3s or k0s",
    version: "set an exact release tag, e.g. v1.33.5+k3s1 (k3s) or v1.36.3+k0s.2 (k0s)",
    ssh: "set one credential, e.g. `pulumi config set --path dualstack:ssh.privateKeyPath ~/.ssh/id_ed25519`",
    nodes: "list your hosts under dualstack:nodes, each with name, host, role and interface (see stacks/Pulumi.lab-k3s.yaml)",
    "nodes.name": "give the node's Kubernetes name, e.g. cp1 (a DNS-1123 label)",
    "nodes.host": "give the node's SSH address: an IPv4 address, an IPv6 literal without brackets or a DNS name",
    "nodes.role": "use control-plane or worker",
    "nodes.interface": "give the uplink that carries the node addresses, e.g. eth0",
    "ssh.proxy.host": "give the jump host's address or DNS name",
    token: "remove it to let @pulumi/random generate one, or set one of at least 32 characters with `pulumi config set --secret dualstack:token \"$(openssl rand -hex 32)\"`",
};

const WRITE_AS: Record<string, string> = {
    number: "write a plain whole number (no quotes, letters or units)",
    string: "write it as text, in quotes if YAML would read it otherwise",
    boolean: "write true or false",
    array: "write a YAML list (one `- item` per line, or [a, b])",
    object: "write a YAML map (`key: value` lines)",
};

function kindOf(v: unknown): string {
    if (Array.isArray(v)) return "a list";
    if (v === null) return "null";
    if (typeof v === "object") return "a map";
    if (typeof v === "string") return /^-?\d+$/.test(v.trim()) ? "a quoted number (text)" : "text";
    return `a ${typeof v}`;
}

function article(t: string): string {
    return t === "array" ? "a list" : t === "object" ? "a map" : `a ${t}`;
}

/** The schema node at a config path (through defaults, optionals and lists). */
function schemaAt(path: readonly PropertyKey[]): z.ZodType | undefined {
    const unwrap = (s: z.ZodType): z.ZodType => {
        let cur: any = s;
        while (cur?.def && (cur.def.type === "default" || cur.def.type === "optional")) cur = cur.def.innerType;
        return cur;
    };
    let cur: any = configSchema;
    for (const p of path) {
        cur = unwrap(cur);
        if (typeof p === "number") cur = cur?.def?.type === "array" ? cur.def.element : undefined;
        else cur = cur?.def?.type === "object" ? cur.shape[p as string] : undefined;
        if (!cur) return undefined;
    }
    return unwrap(cur);
}

/** One zod issue as problems in the project's voice: key, value, rule and fix. */
export function issueProblems(issue: z.core.$ZodIssue, input: unknown): Problem[] {
    const path = issue.path;
    const hintKey = path.filter((x) => typeof x === "string").join(".");
    const value = redactSecrets(path, valueAt(input, path));
    const one = (rule: string, fix: string): Problem[] => [{ key: keyPath(path), value, rule, fix }];
    switch (issue.code) {
        case "invalid_type":
            if (value === undefined) return one("is required", HINTS[hintKey] ?? "set it (see README's config reference)");
            return one(`must be ${article(issue.expected)}, not ${kindOf(valueAt(input, path))}`, WRITE_AS[issue.expected] ?? "see README's config reference");
        case "invalid_value":
            return one("is not a value this key accepts", `use one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`);
        case "unrecognized_keys": {
            const known = Object.keys((schemaAt(path) as any)?.shape ?? {});
            return issue.keys.map((k) => {
                const meant = nearest(k, known);
                return {
                    key: keyPath([...path, k]),
                    value: redactSecrets([...path, k], valueAt(input, [...path, k])),
                    rule: `is not a key of ${keyPath(path)}`,
                    fix: `${meant ? `did you mean ${meant}? ` : ""}${known.length ? `Its keys are ${known.join(", ")}` : "check the spelling against README's config reference"}`,
                };
            });
        }
        case "too_small":
            if (issue.origin === "string" && Number(issue.minimum) <= 1) return one("is empty", HINTS[hintKey] ?? "give a value or remove the key");
            if (issue.origin === "string") return one(`is shorter than ${String(issue.minimum)} characters`, HINTS[hintKey] ?? `give at least ${String(issue.minimum)} characters`);
            if (issue.origin === "array") return one("is an empty list", HINTS[hintKey] ?? `give at least ${String(issue.minimum)} entries`);
            return one(`is below the minimum ${String(issue.minimum)}`, `use ${String(issue.minimum)} or more`);
        case "too_big":
            if (issue.origin === "number") return one(`is above the maximum ${String(issue.maximum)}`, `use ${String(issue.maximum)} or less`);
            return one(`is longer than ${String(issue.maximum)}`, `give at most ${String(issue.maximum)}`);
        default:
            return one(issue.message, "see README's config reference");
    }
}

/**
 * Secure values in the raw input: the secret keys among them (token, private keys) are present
 * and stay secret, so they are taken out before the shape check and put back as SECURE_VALUE
 * after it; any other key shapes what is rendered and cannot be checked without its value.
 */
function takeSecureValues(input: Record<string, unknown>, problems: Problems): string[][] {
    const taken: string[][] = [];
    const walk = (obj: Record<string, unknown>, path: string[]) => {
        for (const [k, v] of Object.entries(obj)) {
            const at = [...path, k];
            if (v === SECURE_VALUE) {
                if (SECRET_PATHS.has(at.join("."))) {
                    taken.push(at);
                    delete obj[k];
                } else {
                    problems.error(keyPath(at), "(secure value)", "is encrypted in the stack file, and it is not a secret: the render command cannot check what it does not read", `set it in plain text: pulumi config set --path ${keyPath(at)} <value>`);
                }
            } else if (v !== null && typeof v === "object" && !Array.isArray(v)) walk(v as Record<string, unknown>, at);
        }
    };
    walk(input, []);
    return taken;
}

function putBack(cfg: Record<string, any>, path: string[]): void {
    let cur = cfg;
    for (const p of path.slice(0, -1)) cur = cur[p] ??= {};
    cur[path[path.length - 1]] = SECURE_VALUE;
}

/**
 * Reads every `dualstack:*` key, applies defaults and checks shapes. Problems go into `problems`;
 * the result is undefined when the shape is too broken for the semantic rules to run.
 */
export function parseStackConfig(raw: RawConfig, problems: Problems): StackConfig | undefined {
    const input: Record<string, unknown> = {};
    for (const key of CONFIG_KEYS) {
        const text = raw(`${NAMESPACE}:${key}`);
        if (text === undefined) continue;
        if (STRUCTURED.has(key)) {
            try {
                input[key] = JSON.parse(text);
            } catch {
                problems.error(keyPath([key]), text, "is not a structured value", "write it as a YAML map or list in the stack file");
            }
        } else {
            input[key] = text;
        }
    }
    const secure = takeSecureValues(input, problems);
    const parsed = configSchema.safeParse(input);
    if (parsed.success) {
        for (const at of secure) putBack(parsed.data, at);
        return parsed.data;
    }
    for (const issue of parsed.error.issues) problems.errors.push(...issueProblems(issue, input));
    return undefined;
}
