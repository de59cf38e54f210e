// The stack config contract: the shapes and defaults of every `dualstack:*` key.
// Shapes live here (zod); the rules that relate values to each other (CIDR overlap, capacity,
// address validity, version tags) live in plan.ts so that both report into one problem list.
import { z } from "zod";
import { chartSourcesSchema } from "./charts";
import { Problems } from "./problems";
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

function fixFor(issue: z.core.$ZodIssue): string {
    switch (issue.code) {
        case "invalid_value":
            return `use one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
        case "unrecognized_keys":
            return `remove ${issue.keys.join(", ")} or check the spelling against README's config reference`;
        case "invalid_type":
            return issue.input === undefined ? "set this key (see README's config reference)" : `give a value of type ${issue.expected}`;
        case "too_small":
            return `give at least ${String(issue.minimum)}`;
        case "too_big":
            return `give at most ${String(issue.maximum)}`;
        default:
            return "see README's config reference";
    }
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
    const parsed = configSchema.safeParse(input);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) {
        const path = issue.path;
        problems.error(keyPath(path), redactSecrets(path, valueAt(input, path)), issue.message, fixFor(issue));
    }
    return undefined;
}
