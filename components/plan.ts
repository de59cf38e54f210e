// The dual-stack network plan: validates the whole stack config against the rules Kubernetes,
// k3s, k0s and Calico enforce, and derives the plain data every component consumes.
// Pure: no Pulumi, no I/O. Facts behind the rules: README "Why each rule".
import { createHash } from "node:crypto";
import {
    CONFIG_KEYS,
    NAMESPACE,
    NodeConfig,
    parseStackConfig,
    RawConfig,
    StackConfig,
} from "./config";
import {
    addressAt,
    addressBits,
    canonicalAddress,
    canonicalCidr,
    cidrContainsAddress,
    cidrRange,
    cidrsOverlap,
    Family,
    familyOfAddress,
    familyOfCidr,
    hostOffset,
    isAlignedCidr,
    isGoGlobalUnicastV6,
    prefixLength,
} from "./net";
import { ConfigError, Problem, Problems } from "./problems";
import { byCodePoint } from "./order";
import { dayTwoFindings } from "./daytwo";
import { report } from "./findings";
import { apiEndpoint, type ApiEndpoint } from "./registration";
import type { Registries } from "./registries";

export type Role = "control-plane" | "worker";

export interface PlannedNode {
    name: string;
    /** SSH address: IPv4, IPv6 literal or DNS name. */
    host: string;
    role: Role;
    /** Position in `dualstack:nodes`. */
    index: number;
    interface: string;
    ipv4: string;
    ipv6: string;
    ipv6PrefixLength: number;
    /** `ipv6/len`, as `ip -6 addr add` takes it. */
    ipv6Cidr: string;
    /** The node's IPv6 network, e.g. `fd45:a71:55a6:1::/64`. */
    ipv6Network: string;
    /** True when the address was derived from network.nodeIpv6Prefix rather than given. */
    ipv6Derived: boolean;
    /** Both addresses in the cluster's primary-family order, as node-ip wants them. */
    nodeIps: [string, string];
    hostKey?: string;
    labels: Record<string, string>;
    taints: string[];
}

export interface FamilyPair {
    ipv4: string;
    ipv6: string;
    /** Both entries, primary family first. */
    ordered: [string, string];
}

export interface Capacity {
    /** How many nodes can get a pod CIDR of that family. */
    nodeSubnets: { ipv4: number; ipv6: number };
    podsPerNode: { ipv4: string; ipv6: string };
    services: { ipv4: string; ipv6: string };
}

export interface Plan {
    stackName: string;
    distribution: "k3s" | "k0s";
    version: string;
    kubernetes: { major: number; minor: number; patch: number };
    primaryFamily: Family;
    families: [Family, Family];
    nodes: PlannedNode[];
    controlPlanes: PlannedNode[];
    workers: PlannedNode[];
    firstControlPlane: PlannedNode;
    podCidrs: FamilyPair;
    serviceCidrs: FamilyPair;
    nodeCidrMaskSizes: { ipv4: number; ipv6: number };
    capacity: Capacity;
    /** k3s/k0s convention: the 10th address of each service CIDR. */
    clusterDns: FamilyPair;
    /** The first address of each service CIDR: the `kubernetes` Service. */
    kubernetesService: FamilyPair;
    api: ApiEndpoint;
    autodetection: {
        ipv4Cidrs: string[];
        ipv6Cidrs: string[];
        /** calico-node method strings (`cidr=...`), never first-found. */
        ipv4Method: string;
        ipv6Method: string;
    };
    ssh: {
        user: string;
        port: number;
        /** Non-root users run every step through `sudo -n`. */
        sudo: boolean;
        privateKeyPath?: string;
        agentSocketPath?: string;
        hasInlinePrivateKey: boolean;
        dialErrorLimit: number;
        perDialTimeout: number;
        proxy?: {
            host: string;
            user: string;
            port: number;
            privateKeyPath?: string;
            agentSocketPath?: string;
            hasInlinePrivateKey: boolean;
            hostKey?: string;
            dialErrorLimit?: number;
            perDialTimeout?: number;
        };
    };
    network: { provider: "calico" | "custom" };
    calico: StackConfig["calico"] & {
        encapsulation: { ipv4: string; ipv6: string };
        /** Who deploys Calico: the Tigera operator (our Calico component) or k0s itself. */
        managedBy: "operator" | "k0s";
        bgp: "Enabled" | "Disabled";
    };
    traefik: StackConfig["traefik"] & { loadBalancer: "servicelb" | "metallb" | "externalIPs" | "none" };
    metallb: StackConfig["metallb"];
    install: StackConfig["install"];
    cluster: StackConfig["cluster"];
    hostPrep: StackConfig["hostPrep"];
    checks: StackConfig["checks"];
    /** Only when dualstack:registries is set. */
    registries?: Registries;
    warnings: Problem[];
}

const K3S_TAG = /^v(1)\.(\d+)\.(\d+)(-rc\d+)?\+k3s(\d+)$/;
const K0S_TAG = /^v(1)\.(\d+)\.(\d+)(-rc\.\d+)?\+k0s\.(\d+)$/;
const SEMVER = /^\d+\.\d+\.\d+$/;
const CALICO_TAG = /^v3\.(\d+)\.(\d+)$/;
// Kubernetes node names end up in resource names, file names and kubectl arguments: DNS-1123 labels only.
const NODE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Linux IFNAMSIZ is 16 including the NUL; no shell metacharacters, no slash, no whitespace.
const IFACE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
const DNS_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?$/;
const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\s]+)?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)$/;
const TAINT = /^(([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)(=[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?:(NoSchedule|PreferNoSchedule|NoExecute)$/;
// No spaces: k0s splits --kubelet-extra-args on spaces, and every value reaches a shell (quoted).
const EXTRA_ARG = /^[a-z0-9][a-z0-9-]*=[A-Za-z0-9_.,:=/+@%-]*$/;
const IMAGE_REF = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const DURATION = /^[0-9]+(s|m|h)$/;

/** Flags the plan sets itself: a user value would contradict the plan, so it is refused. */
const PLANNED_ARGS: Record<string, string> = {
    "cluster-cidr": "dualstack:network.podCidrs",
    "service-cluster-ip-range": "dualstack:network.serviceCidrs",
    "node-ip": "dualstack:nodes[*].ipv4/ipv6",
    "node-cidr-mask-size-ipv4": "dualstack:network.nodeCidrMaskSizes.ipv4",
    "node-cidr-mask-size-ipv6": "dualstack:network.nodeCidrMaskSizes.ipv6",
    "hostname-override": "dualstack:nodes[*].name",
};

function nodeKey(i: number, field?: string): string {
    return `${NAMESPACE}:nodes[${i}]${field ? `.${field}` : ""}`;
}

function parseVersion(cfg: StackConfig, p: Problems): Plan["kubernetes"] | undefined {
    const key = `${NAMESPACE}:version`;
    const v = cfg.version;
    if (/^(latest|stable|testing)$/i.test(v)) {
        p.error(key, v, "channel names are refused because they make previews non-deterministic", `pin an exact release tag such as ${cfg.distribution === "k3s" ? "v1.33.5+k3s1" : "v1.34.1+k0s.0"}`);
        return undefined;
    }
    const m = (cfg.distribution === "k3s" ? K3S_TAG : K0S_TAG).exec(v);
    if (!m) {
        p.error(
            key,
            v,
            `is not an exact ${cfg.distribution} release tag (${cfg.distribution === "k3s" ? "vMAJOR.MINOR.PATCH+k3sN" : "vMAJOR.MINOR.PATCH+k0s.N"})`,
            cfg.distribution === "k3s" ? "use a tag from the k3s releases, e.g. v1.33.5+k3s1" : "use a tag from the k0s releases, e.g. v1.34.1+k0s.0",
        );
        return undefined;
    }
    const kube = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
    if (cfg.distribution === "k3s" && (kube.minor < 23 || (kube.minor === 23 && kube.patch < 7))) {
        p.error(key, v, "k3s dual-stack is stable only since v1.23.7+k3s1", "use v1.23.7+k3s1 or newer");
    }
    return kube;
}

interface NodeAddrs {
    ipv4?: string;
    ipv6?: string;
    ipv6Len?: number;
}

/**
 * Derives a node's IPv6 address from its name, so adding, removing or reordering nodes never
 * renumbers the others. Collisions (rare) move to the next free offset, resolved in name order so
 * the result does not depend on the order of `dualstack:nodes`.
 */
export function deriveIpv6Addresses(prefix: string, names: string[], taken: string[]): Map<string, string> {
    const hostBits = 128 - prefixLength(prefix);
    // Short, readable host parts: at most 32 bits of hash.
    const bits = Math.min(hostBits, 32);
    const space = (1n << BigInt(bits)) - 1n; // offsets 1..space; offset 0 is the subnet-router anycast address
    const used = new Set(taken.map((a) => hostOffset(prefix, a).toString()));
    const out = new Map<string, string>();
    for (const name of [...names].sort()) {
        const digest = createHash("sha256").update(`dualstack-node:${name}`).digest();
        let offset = (digest.readBigUInt64BE(0) % space) + 1n;
        while (used.has(offset.toString())) offset = (offset % space) + 1n;
        used.add(offset.toString());
        out.set(name, addressAt(prefix, offset));
    }
    return out;
}

function checkCidrPair(
    key: string,
    list: string[],
    p: Problems,
): { ipv4?: string; ipv6?: string; primary?: Family } {
    const out: { ipv4?: string; ipv6?: string; primary?: Family } = {};
    let ok = true;
    let dup = false;
    list.forEach((c, i) => {
        const fam = familyOfCidr(c);
        if (!fam) {
            p.error(`${key}[${i}]`, c, "is not a CIDR", "write an address and prefix length, e.g. 10.42.0.0/16 or fd45:a71:55a6:42::/56");
            ok = false;
        } else if (!isAlignedCidr(c)) {
            p.error(`${key}[${i}]`, c, "has host bits set after the prefix length", `use the network address ${canonicalCidr(c)}`);
            ok = false;
        } else if (fam === "IPv4") {
            dup = dup || out.ipv4 !== undefined;
            out.ipv4 = out.ipv4 ?? canonicalCidr(c);
        } else {
            dup = dup || out.ipv6 !== undefined;
            out.ipv6 = out.ipv6 ?? canonicalCidr(c);
        }
    });
    // Unparseable entries are reported above; only judge the families of what parsed.
    if (list.length !== 2 || dup || (ok && (!out.ipv4 || !out.ipv6))) {
        p.error(key, list, "must hold exactly one IPv4 and one IPv6 CIDR (a dual-stack cluster cannot be made single-stack later)", "list one CIDR of each family, the primary family first");
    }
    const first = list[0] !== undefined ? familyOfCidr(list[0]) : undefined;
    if (first) out.primary = first;
    return out;
}

function checkExtraArgs(cfg: StackConfig, minor: number | undefined, p: Problems): void {
    const groups = cfg.cluster.extraArgs;
    for (const [group, args] of Object.entries(groups) as [string, string[]][]) {
        args.forEach((arg, i) => {
            const key = `${NAMESPACE}:cluster.extraArgs.${group}[${i}]`;
            if (!EXTRA_ARG.test(arg)) {
                p.error(key, arg, "must be key=value without leading dashes, using only letters, digits and _.,:=/+@%-", "write e.g. v=2 or max-pods=150");
                return;
            }
            const [name, value] = [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)];
            if (name === "feature-gates" && /(^|,)IPv6DualStack=/.test(value) && (minor === undefined || minor >= 25)) {
                p.error(key, arg, "the IPv6DualStack feature gate was removed in Kubernetes 1.25; passing it stops the component with `unrecognized feature gate`", "remove IPv6DualStack: dual-stack is always on");
            }
            if (name === "node-cidr-mask-size") {
                p.error(key, arg, "kube-controller-manager refuses --node-cidr-mask-size in a dual-stack cluster", "set dualstack:network.nodeCidrMaskSizes.ipv4/ipv6 instead");
            }
            if (PLANNED_ARGS[name]) {
                p.error(key, arg, `the plan sets ${name} itself`, `set ${PLANNED_ARGS[name]} instead`);
            }
        });
    }
}

/**
 * Validates a parsed config and builds the plan. All problems go into `p`; returns undefined
 * when any error was found.
 */
export function buildPlan(cfg: StackConfig, stackName: string, p: Problems): Plan | undefined {
    const start = p.errors.length;
    const kube = parseVersion(cfg, p);

    // --- SSH --------------------------------------------------------------------------------
    const ssh = cfg.ssh;
    const authCount = [ssh.privateKeyPath, ssh.privateKey, ssh.agentSocketPath].filter((x) => x !== undefined).length;
    if (authCount !== 1) {
        p.error(`${NAMESPACE}:ssh`, authCount === 0 ? "(no credential)" : "(several credentials)", "needs exactly one of privateKeyPath, privateKey (secret) or agentSocketPath", "set one, e.g. `pulumi config set --path dualstack:ssh.privateKeyPath ~/.ssh/id_ed25519`");
    }
    if (!UNIX_USER.test(ssh.user)) {
        p.error(`${NAMESPACE}:ssh.user`, ssh.user, "is not a valid Unix user name", "use a login name such as root or ubuntu");
    }
    if (ssh.proxy) {
        const pr = ssh.proxy;
        if (!familyOfAddress(pr.host) && !DNS_NAME.test(pr.host)) {
            p.error(`${NAMESPACE}:ssh.proxy.host`, pr.host, "is neither an IP address nor a DNS name", "give the jump host's address or name");
        }
        if (!UNIX_USER.test(pr.user)) p.error(`${NAMESPACE}:ssh.proxy.user`, pr.user, "is not a valid Unix user name", "use a login name such as root");
        if (pr.hostKey !== undefined && !HOST_KEY.test(pr.hostKey)) {
            p.error(`${NAMESPACE}:ssh.proxy.hostKey`, pr.hostKey, "is not an authorized_keys-format public key", "copy a line from the jump host's /etc/ssh/ssh_host_*_key.pub");
        }
        if ([pr.privateKeyPath, pr.privateKey, pr.agentSocketPath].filter((x) => x !== undefined).length > 1) {
            p.error(`${NAMESPACE}:ssh.proxy`, "(several credentials)", "takes at most one of privateKeyPath, privateKey or agentSocketPath", "keep one");
        }
    }

    // --- CIDRs ------------------------------------------------------------------------------
    const net = cfg.network;
    const pods = checkCidrPair(`${NAMESPACE}:network.podCidrs`, net.podCidrs, p);
    const svcs = checkCidrPair(`${NAMESPACE}:network.serviceCidrs`, net.serviceCidrs, p);
    if (pods.primary && svcs.primary && pods.primary !== svcs.primary) {
        p.error(`${NAMESPACE}:network.serviceCidrs[0]`, net.serviceCidrs[0], `is ${svcs.primary} but podCidrs[0] is ${pods.primary}; k3s and kube-apiserver require the same primary family`, "put the CIDRs of the same family first in both lists");
    }
    const primary: Family = pods.primary ?? "IPv4";
    if (svcs.ipv6 && prefixLength(svcs.ipv6) < 108) {
        p.error(`${NAMESPACE}:network.serviceCidrs`, svcs.ipv6, "an IPv6 service CIDR larger than /108 is refused by kube-apiserver (up to 1.33) and by k0s", "use a /112 (k3s docs' advice) or at least /108");
    }
    if (svcs.ipv4 && prefixLength(svcs.ipv4) < 12) {
        p.error(`${NAMESPACE}:network.serviceCidrs`, svcs.ipv4, "an IPv4 service CIDR larger than /12 is refused by kube-apiserver", "use /12 or smaller, e.g. 10.43.0.0/16");
    }
    // The cluster DNS takes the 10th address and Traefik's fixed cluster IP the 11th; both must lie in
    // the static band every service CIDR reserves (at least 16 addresses, KEP-3070).
    for (const s of [svcs.ipv4, svcs.ipv6]) {
        if (s && addressBits(familyOfCidr(s)!) - prefixLength(s) < 4) {
            p.error(`${NAMESPACE}:network.serviceCidrs`, s, "holds fewer than 16 addresses; the cluster DNS (10th address) and Traefik's cluster IP (11th) would fall outside it", "use e.g. 10.43.0.0/16 and a /112 for IPv6");
        }
    }
    let nodeV6Prefix: string | undefined;
    if (net.nodeIpv6Prefix !== undefined) {
        if (familyOfCidr(net.nodeIpv6Prefix) !== "IPv6") {
            p.error(`${NAMESPACE}:network.nodeIpv6Prefix`, net.nodeIpv6Prefix, "is not an IPv6 CIDR", "give the hosts' IPv6 network, e.g. fd45:a71:55a6:1::/64");
        } else if (!isAlignedCidr(net.nodeIpv6Prefix)) {
            p.error(`${NAMESPACE}:network.nodeIpv6Prefix`, net.nodeIpv6Prefix, "has host bits set after the prefix length", `use ${canonicalCidr(net.nodeIpv6Prefix)}`);
        } else if (!isGoGlobalUnicastV6(cidrRange(net.nodeIpv6Prefix).getFirst().toString())) {
            p.error(`${NAMESPACE}:network.nodeIpv6Prefix`, net.nodeIpv6Prefix, "is link-local, multicast or loopback; Calico's autodetection (Go IsGlobalUnicast) never picks such addresses", "use a ULA prefix from fd00::/8 (RFC 4193, random 40-bit global ID) or your global prefix");
        } else {
            nodeV6Prefix = canonicalCidr(net.nodeIpv6Prefix);
        }
    }
    let nodeV4Prefix: string | undefined;
    if (net.nodeIpv4Prefix !== undefined) {
        if (familyOfCidr(net.nodeIpv4Prefix) !== "IPv4" || !isAlignedCidr(net.nodeIpv4Prefix)) {
            p.error(`${NAMESPACE}:network.nodeIpv4Prefix`, net.nodeIpv4Prefix, "is not an aligned IPv4 CIDR", "give the hosts' IPv4 network, e.g. 192.168.121.0/24");
        } else {
            nodeV4Prefix = canonicalCidr(net.nodeIpv4Prefix);
        }
    }
    const masks = net.nodeCidrMaskSizes;
    const capacity: Capacity = { nodeSubnets: { ipv4: 0, ipv6: 0 }, podsPerNode: { ipv4: "0", ipv6: "0" }, services: { ipv4: "0", ipv6: "0" } };
    for (const fam of ["ipv4", "ipv6"] as const) {
        const cidr = pods[fam];
        const mask = masks[fam];
        const key = `${NAMESPACE}:network.nodeCidrMaskSizes.${fam}`;
        if (mask < 1 || mask > addressBits(fam === "ipv4" ? "IPv4" : "IPv6")) {
            p.error(key, mask, "is not a prefix length of that family", fam === "ipv4" ? "use e.g. 24" : "use e.g. 64");
            continue;
        }
        if (!cidr) continue;
        const len = prefixLength(cidr);
        if (mask <= len) {
            p.error(key, mask, `must be longer than the ${fam === "ipv4" ? "IPv4" : "IPv6"} pod CIDR prefix /${len}`, `use a mask above ${len}, or widen podCidrs`);
            continue;
        }
        if (fam === "ipv6" && mask - len > 16) {
            p.error(key, mask, `kube-controller-manager allows at most 16 bits between the IPv6 cluster prefix (/${len}) and the node mask`, `use a node mask of at most /${len + 16}, or a pod CIDR of at least /${mask - 16}`);
            continue;
        }
        capacity.nodeSubnets[fam] = 2 ** (mask - len);
        capacity.podsPerNode[fam] = (2n ** BigInt(addressBits(fam === "ipv4" ? "IPv4" : "IPv6") - mask)).toString();
        if (capacity.nodeSubnets[fam] < cfg.nodes.length) {
            p.error(key, mask, `${cidr} split into /${mask} gives ${capacity.nodeSubnets[fam]} node subnet(s) for ${cfg.nodes.length} nodes`, `use a node mask of at most /${len + Math.ceil(Math.log2(cfg.nodes.length))}, or widen the pod CIDR`);
        }
    }
    for (const fam of ["ipv4", "ipv6"] as const) {
        const s = svcs[fam];
        if (s) capacity.services[fam] = (2n ** BigInt(addressBits(fam === "ipv4" ? "IPv4" : "IPv6") - prefixLength(s))).toString();
    }
    // Overlaps between pod, service and node networks, per family.
    const nets: [string, string | undefined][] = [
        [`${NAMESPACE}:network.podCidrs (IPv4)`, pods.ipv4],
        [`${NAMESPACE}:network.podCidrs (IPv6)`, pods.ipv6],
        [`${NAMESPACE}:network.serviceCidrs (IPv4)`, svcs.ipv4],
        [`${NAMESPACE}:network.serviceCidrs (IPv6)`, svcs.ipv6],
        [`${NAMESPACE}:network.nodeIpv6Prefix`, nodeV6Prefix],
        [`${NAMESPACE}:network.nodeIpv4Prefix`, nodeV4Prefix],
    ];
    for (let i = 0; i < nets.length; i++) {
        for (let j = i + 1; j < nets.length; j++) {
            const [ka, a] = nets[i];
            const [kb, b] = nets[j];
            if (a && b && cidrsOverlap(a, b)) {
                p.error(ka, a, `overlaps ${kb} ${b}`, "give pod, service and node networks disjoint ranges");
            }
        }
    }
    for (const [k, c] of nets) {
        if (c && familyOfCidr(c) === "IPv6") {
            if (cidrsOverlap(c, "2001:db8::/32")) p.warn(k, c, "is inside the documentation prefix 2001:db8::/32 (RFC 3849)", "use a ULA prefix (fd00::/8) with a random global ID");
            if (cidrsOverlap(c, "fec0::/10")) p.warn(k, c, "is inside the deprecated site-local prefix fec0::/10 (RFC 3879)", "use a ULA prefix (fd00::/8)");
        }
    }

    // --- Nodes ------------------------------------------------------------------------------
    const names = new Map<string, number>();
    const addrs: NodeAddrs[] = cfg.nodes.map(() => ({}));
    cfg.nodes.forEach((n: NodeConfig, i) => {
        if (!NODE_NAME.test(n.name)) {
            p.error(nodeKey(i, "name"), n.name, "is not a valid Kubernetes node name (lowercase letters, digits and '-', at most 63, starting and ending alphanumeric)", "rename the node, e.g. cp1 or worker-1");
        } else if (names.has(n.name)) {
            p.error(nodeKey(i, "name"), n.name, `repeats the name of nodes[${names.get(n.name)}]`, "give every node a unique name");
        } else {
            names.set(n.name, i);
        }
        if (!familyOfAddress(n.host) && !DNS_NAME.test(n.host)) {
            p.error(nodeKey(i, "host"), n.host, "is neither an IPv4 address, an IPv6 literal (without brackets or zone) nor a DNS name", "give the address SSH should connect to");
        }
        if (!IFACE_NAME.test(n.interface) || n.interface === "." || n.interface === "..") {
            p.error(nodeKey(i, "interface"), n.interface, "is not a valid Linux interface name (at most 15 of A-Z a-z 0-9 _ . -)", "give the uplink's name as `ip link` shows it, e.g. eth0 or ens5");
        }
        if (n.hostKey !== undefined && !HOST_KEY.test(n.hostKey)) {
            p.error(nodeKey(i, "hostKey"), n.hostKey, "is not an authorized_keys-format public key", "copy a line of the host's /etc/ssh/ssh_host_ed25519_key.pub, e.g. `ssh-ed25519 AAAA...`");
        }
        for (const [k, v] of Object.entries(n.labels)) {
            if (!LABEL_KEY.test(k) || !LABEL_VALUE.test(v) || v.length > 63) {
                p.error(nodeKey(i, `labels.${k}`), v, "is not a valid Kubernetes label", "use [prefix/]name=value with alphanumerics, '-', '_' and '.'");
            }
        }
        n.taints.forEach((t, j) => {
            if (!TAINT.test(t)) p.error(nodeKey(i, `taints[${j}]`), t, "is not a taint of the form key[=value]:Effect", "write e.g. dedicated=infra:NoSchedule");
        });
        // IPv4
        const v4 = n.ipv4 ?? (familyOfAddress(n.host) === "IPv4" ? n.host : undefined);
        if (v4 === undefined) {
            p.error(nodeKey(i, "ipv4"), undefined, "is required when host is not an IPv4 literal", "give the node's IPv4 address on its interface");
        } else if (familyOfAddress(v4) !== "IPv4") {
            p.error(nodeKey(i, "ipv4"), v4, "is not an IPv4 address", "give a dotted-quad address without prefix length");
        } else {
            addrs[i].ipv4 = canonicalAddress(v4);
        }
        // IPv6 (given)
        if (n.ipv6 !== undefined) {
            const [addr, len] = n.ipv6.split("/");
            const plen = len === undefined ? (nodeV6Prefix ? prefixLength(nodeV6Prefix) : 64) : /^\d+$/.test(len) ? Number(len) : NaN;
            if (familyOfAddress(addr) !== "IPv6" || !(plen >= 1 && plen <= 128)) {
                p.error(nodeKey(i, "ipv6"), n.ipv6, "is not an IPv6 address with optional /prefix", "write e.g. fd45:a71:55a6:1::10/64");
            } else if (!isGoGlobalUnicastV6(addr)) {
                p.error(nodeKey(i, "ipv6"), n.ipv6, "is link-local, loopback, multicast or unspecified: Calico's autodetection (Go net.IP.IsGlobalUnicast) rejects it and calico-node exits with `no valid IPv6 addresses found on the host interfaces`", "use an address from a ULA (fd00::/8) or global prefix");
            } else if (plen < 128 && hostOffset(canonicalCidr(`${addr}/${plen}`), addr) === 0n) {
                p.error(nodeKey(i, "ipv6"), n.ipv6, `is the subnet-router anycast address of ${canonicalCidr(`${addr}/${plen}`)} (host part all zero)`, `use a host address inside it, e.g. ${addressAt(canonicalCidr(`${addr}/${plen}`), 16n)}/${plen}`);
            } else if (nodeV6Prefix && !cidrContainsAddress(nodeV6Prefix, addr)) {
                p.error(nodeKey(i, "ipv6"), n.ipv6, `is outside network.nodeIpv6Prefix ${nodeV6Prefix}`, "use an address inside the prefix, or drop ipv6 to derive one");
            } else if (nodeV6Prefix && plen !== prefixLength(nodeV6Prefix)) {
                p.error(nodeKey(i, "ipv6"), n.ipv6, `has prefix length /${plen} but network.nodeIpv6Prefix is /${prefixLength(nodeV6Prefix)}`, `write /${prefixLength(nodeV6Prefix)}`);
            } else {
                addrs[i].ipv6 = canonicalAddress(addr);
                addrs[i].ipv6Len = plen;
                if (cidrContainsAddress("2001:db8::/32", addr)) p.warn(nodeKey(i, "ipv6"), n.ipv6, "is inside the documentation prefix 2001:db8::/32", "use a ULA (fd00::/8)");
                if (cidrContainsAddress("fec0::/10", addr)) p.warn(nodeKey(i, "ipv6"), n.ipv6, "is inside the deprecated site-local prefix fec0::/10", "use a ULA (fd00::/8)");
            }
        } else if (!nodeV6Prefix && net.nodeIpv6Prefix === undefined) {
            p.error(nodeKey(i, "ipv6"), undefined, "is required when network.nodeIpv6Prefix is not set", "set network.nodeIpv6Prefix to derive addresses, or give this node an ipv6");
        }
    });
    // Addresses must not collide with each other or with cluster networks.
    const seen4 = new Map<string, number>();
    const seen6 = new Map<string, number>();
    addrs.forEach((a, i) => {
        if (a.ipv4) {
            if (seen4.has(a.ipv4)) p.error(nodeKey(i, "ipv4"), a.ipv4, `repeats the address of nodes[${seen4.get(a.ipv4)}]`, "give every node its own IPv4 address");
            seen4.set(a.ipv4, i);
            for (const [k, c] of [[`podCidrs`, pods.ipv4], [`serviceCidrs`, svcs.ipv4]] as const) {
                if (c && cidrContainsAddress(c, a.ipv4)) p.error(nodeKey(i, "ipv4"), a.ipv4, `lies inside network.${k} ${c}`, "move the pod/service CIDR away from the node network");
            }
            if (nodeV4Prefix && !cidrContainsAddress(nodeV4Prefix, a.ipv4)) p.error(nodeKey(i, "ipv4"), a.ipv4, `is outside network.nodeIpv4Prefix ${nodeV4Prefix}`, "fix the address or the prefix");
        }
        if (a.ipv6) {
            if (seen6.has(a.ipv6)) p.error(nodeKey(i, "ipv6"), a.ipv6, `repeats the address of nodes[${seen6.get(a.ipv6)}]`, "give every node its own IPv6 address");
            seen6.set(a.ipv6, i);
            for (const [k, c] of [[`podCidrs`, pods.ipv6], [`serviceCidrs`, svcs.ipv6]] as const) {
                if (c && cidrContainsAddress(c, a.ipv6)) p.error(nodeKey(i, "ipv6"), a.ipv6, `lies inside network.${k} ${c}`, "move the pod/service CIDR away from the node network");
            }
        }
    });
    if (nodeV6Prefix) {
        const missing = cfg.nodes.filter((_, i) => !addrs[i].ipv6 && cfg.nodes[i].ipv6 === undefined).map((n) => n.name);
        const derived = deriveIpv6Addresses(nodeV6Prefix, missing, [...seen6.keys()]);
        cfg.nodes.forEach((n, i) => {
            const d = derived.get(n.name);
            if (d && !addrs[i].ipv6) {
                addrs[i].ipv6 = d;
                addrs[i].ipv6Len = prefixLength(nodeV6Prefix!);
            }
        });
    }
    const cps = cfg.nodes.filter((n) => n.role === "control-plane");
    if (cps.length === 0) {
        p.error(`${NAMESPACE}:nodes`, cfg.nodes.map((n) => n.name), "has no control-plane node", "give at least one node role: control-plane");
    } else if (cfg.distribution === "k3s" && cps.length === 2) {
        p.warn(`${NAMESPACE}:nodes`, cps.map((n) => n.name), "two k3s servers give no more fault tolerance than one (etcd needs a majority)", "use one or three control-plane nodes");
    }

    // --- Calico -----------------------------------------------------------------------------
    const cal = cfg.calico;
    const calTag = CALICO_TAG.exec(cal.version);
    if (!calTag) {
        p.error(`${NAMESPACE}:calico.version`, cal.version, "is not an exact Calico release tag (v3.MINOR.PATCH)", "use e.g. v3.32.1");
    }
    const enc = {
        ipv4: cal.encapsulation.ipv4 ?? (cal.mode === "bird" ? "IPIPCrossSubnet" : "VXLANCrossSubnet"),
        ipv6: cal.encapsulation.ipv6 ?? (cal.mode === "bird" ? "None" : "VXLAN"),
    };
    if (enc.ipv6 === "IPIP" || enc.ipv6 === "IPIPCrossSubnet") {
        p.error(`${NAMESPACE}:calico.encapsulation.ipv6`, enc.ipv6, "IPIP encapsulation is not supported by IPv6 pools (the Tigera operator rejects it)", "use None (BGP-routed) or VXLAN");
    }
    if (enc.ipv6.startsWith("VXLAN") && calTag && Number(calTag[1]) < 23) {
        p.error(`${NAMESPACE}:calico.encapsulation.ipv6`, enc.ipv6, "VXLAN for IPv6 pools needs Calico v3.23 or newer", "use calico.version v3.23.0 or newer, or encapsulation None");
    }
    if (cal.mode === "bird" && (enc.ipv4.startsWith("VXLAN") || enc.ipv6.startsWith("VXLAN"))) {
        p.error(`${NAMESPACE}:calico.encapsulation`, enc, "VXLAN encapsulation does not fit mode bird", "use mode vxlan, or IPIP/None encapsulation");
    }
    if (cal.mode === "vxlan" && (enc.ipv4.startsWith("IPIP") || enc.ipv6 === "None" || enc.ipv4 === "None")) {
        p.error(`${NAMESPACE}:calico.encapsulation`, enc, "mode vxlan runs without BGP, so every pool must be VXLAN-encapsulated", "use VXLAN or VXLANCrossSubnet for both families, or mode bird");
    }
    const bs = cal.blockSizes;
    if (bs.ipv4 < 20 || bs.ipv4 > 32) p.error(`${NAMESPACE}:calico.blockSizes.ipv4`, bs.ipv4, "IPv4 block size must be within 20-32", "use 26 (the default)");
    else if (pods.ipv4 && bs.ipv4 < prefixLength(pods.ipv4)) p.error(`${NAMESPACE}:calico.blockSizes.ipv4`, bs.ipv4, `is shorter than the IPv4 pool prefix /${prefixLength(pods.ipv4)} (IP pool size is too small)`, "use a block size at least the pool prefix length");
    if (bs.ipv6 < 116 || bs.ipv6 > 128) p.error(`${NAMESPACE}:calico.blockSizes.ipv6`, bs.ipv6, "IPv6 block size must be within 116-128", "use 122 (the default)");
    else if (pods.ipv6 && bs.ipv6 < prefixLength(pods.ipv6)) p.error(`${NAMESPACE}:calico.blockSizes.ipv6`, bs.ipv6, `is shorter than the IPv6 pool prefix /${prefixLength(pods.ipv6)}`, "use a block size at least the pool prefix length");
    const managedBy: "operator" | "k0s" = cfg.distribution === "k0s" && net.provider === "calico" ? "k0s" : "operator";
    if (calTag && managedBy === "operator" && Number(calTag[1]) < 23) {
        p.error(`${NAMESPACE}:calico.version`, cal.version, "the tigera-operator Helm chart installs into the tigera-operator namespace only from Calico v3.23 (older charts create that namespace themselves and must be released into default)", "use calico.version v3.23.0 or newer (v3.32.1 is tested)");
    }
    if (cfg.distribution === "k3s" && net.provider !== "calico") {
        // `custom` is a k0s notion; on k3s the operator always manages Calico.
        p.error(`${NAMESPACE}:network.provider`, net.provider, "only applies to k0s (k3s always gets Calico through the Tigera operator)", "remove network.provider");
    }
    if (managedBy === "k0s" && cal.mode !== "bird") {
        p.error(`${NAMESPACE}:calico.mode`, cal.mode, "k0s refuses dual-stack Calico in any mode but bird (`dual-stack for calico is only supported for mode bird`)", "use mode bird, or network.provider custom to run Calico through the operator");
    }
    if (managedBy === "k0s" && (cal.encapsulation.ipv6 ?? "None") !== "None") {
        p.error(`${NAMESPACE}:calico.encapsulation.ipv6`, cal.encapsulation.ipv6, "k0s-managed Calico leaves the IPv6 pool unencapsulated", "drop it, or use network.provider custom");
    }

    // --- Traefik / MetalLB ------------------------------------------------------------------
    const tr = cfg.traefik;
    const lb = tr.loadBalancer ?? (cfg.distribution === "k3s" ? "servicelb" : "none");
    if (!SEMVER.test(tr.chartVersion)) {
        p.error(`${NAMESPACE}:traefik.chartVersion`, tr.chartVersion, "is not an exact chart version", "use e.g. 41.3.0");
    } else if (Number(tr.chartVersion.split(".")[0]) < 40) {
        // Charts below 40 take the Service settings at the top level of `service`; supporting both
        // layouts doubles the chances of the silent IPv4-only Service this project exists to prevent.
        p.error(`${NAMESPACE}:traefik.chartVersion`, tr.chartVersion, "Traefik charts below 40.0.0 use a different Service layout and are not supported", "use chart 40.0.0 or newer, e.g. 41.3.0");
    }
    if (lb === "servicelb" && cfg.distribution !== "k3s") {
        p.error(`${NAMESPACE}:traefik.loadBalancer`, lb, "ServiceLB is part of k3s; k0s has no built-in load balancer", "use metallb, externalIPs or none");
    }
    const checkPair = (key: string, list: string[], what: string, allowRanges: boolean) => {
        const fams = list.map((a, i) => {
            const fam = familyOfAddress(a) ?? (allowRanges ? (familyOfCidr(a) ?? rangeFamily(a)) : undefined);
            if (!fam) p.error(`${key}[${i}]`, a, `is not an ${allowRanges ? "address, CIDR or a-b range" : "IP address"}`, `give ${what}`);
            return fam;
        });
        if (!fams.includes("IPv4") || !fams.includes("IPv6")) {
            p.error(key, list, "must hold addresses of both families for a RequireDualStack Service", `give ${what} of each family`);
        }
        return fams;
    };
    // Address value for ordering a-b ranges (offset from the family's all-zero address).
    const valueOf = (a: string) => hostOffset(familyOfAddress(a) === "IPv4" ? "0.0.0.0/0" : "::/0", a);
    const inPoolEntry = (entry: string, a: string) => {
        if (familyOfCidr(entry)) return cidrContainsAddress(entry, a);
        if (familyOfAddress(entry.trim())) return canonicalAddress(entry.trim()) === canonicalAddress(a);
        const [lo, hi] = entry.split("-").map((x) => x.trim());
        return familyOfAddress(lo) === familyOfAddress(a) && valueOf(lo) <= valueOf(a) && valueOf(a) <= valueOf(hi);
    };
    // A CIDR and a pool entry overlap when the CIDR holds the entry's first address or the entry holds the CIDR's.
    const overlapsEntry = (cidr: string, entry: string) =>
        familyOfCidr(entry) ? cidrsOverlap(cidr, entry) : cidrContainsAddress(cidr, entry.split("-")[0].trim()) || inPoolEntry(entry, addressAt(cidr, 0n));
    const onePerFamily = (key: string, list: string[], fams: (Family | undefined)[]) => {
        if (list.length > 2 || (list.length === 2 && fams[0] === fams[1])) p.error(key, list, "takes one address per family", "keep one IPv4 and one IPv6 address");
    };
    const special = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "::/128", "::1/128", "fe80::/10", "ff00::/8"];
    const notInCluster = (key: string, list: string[]) =>
        list.forEach((a, i) => {
            if (!familyOfAddress(a)) return;
            // kube-apiserver refuses these in spec.externalIPs (validation.go validateNonSpecialIP).
            if (special.some((c) => cidrContainsAddress(c, a))) p.error(`${key}[${i}]`, a, "is an unspecified, loopback, link-local or multicast address", "use an address your router sends to the nodes");
            for (const [k, c] of [["podCidrs", pods], ["serviceCidrs", svcs]] as const) {
                const cidr = familyOfAddress(a) === "IPv4" ? c.ipv4 : c.ipv6;
                if (cidr && cidrContainsAddress(cidr, a)) p.error(`${key}[${i}]`, a, `lies inside network.${k} ${cidr}`, "use an address of the node network");
            }
        });
    if (lb === "externalIPs") {
        const fams = checkPair(`${NAMESPACE}:traefik.externalIPs`, tr.externalIPs, "one IPv4 and one IPv6 address", false);
        onePerFamily(`${NAMESPACE}:traefik.externalIPs`, tr.externalIPs, fams);
        notInCluster(`${NAMESPACE}:traefik.externalIPs`, tr.externalIPs);
    } else if (tr.externalIPs.length > 0) {
        p.error(`${NAMESPACE}:traefik.externalIPs`, tr.externalIPs, `is only used with loadBalancer externalIPs (it is ${lb})`, "remove it or set traefik.loadBalancer: externalIPs");
    }
    const mlb = cfg.metallb;
    if (lb === "metallb") {
        checkPair(`${NAMESPACE}:metallb.addresses`, mlb.addresses, "a CIDR or a-b range", true);
        mlb.addresses.forEach((e, i) => {
            const key = `${NAMESPACE}:metallb.addresses[${i}]`;
            // MetalLB parses entries with Go's net.ParseCIDR, which silently masks host bits.
            if (familyOfCidr(e) && !isAlignedCidr(e)) p.error(key, e, "has host bits set after the prefix length", `use the network address ${canonicalCidr(e)}`);
            const ends = e.split("-").map((x) => x.trim());
            // MetalLB refuses "start IP is after the end IP" (internal/config ParseCIDR).
            if (ends.length === 2 && rangeFamily(e) && valueOf(ends[0]) > valueOf(ends[1])) p.error(key, e, "starts after it ends; MetalLB refuses it", `write ${ends[1]}-${ends[0]}`);
            for (const [k, c] of [["podCidrs", pods], ["serviceCidrs", svcs]] as const) {
                const cidr = entryFamily(e) === "IPv4" ? c.ipv4 : c.ipv6;
                if (cidr && entryFamily(e) && overlapsEntry(cidr, e)) p.error(key, e, `overlaps network.${k} ${cidr}`, "use free addresses of the node network");
            }
        });
        if (mlb.loadBalancerIPs.length > 0) {
            const key = `${NAMESPACE}:metallb.loadBalancerIPs`;
            const fams = checkPair(key, mlb.loadBalancerIPs, "one fixed address", false);
            // MetalLB refuses two addresses of one family in metallb.io/loadBalancerIPs.
            onePerFamily(key, mlb.loadBalancerIPs, fams);
            mlb.loadBalancerIPs.forEach((a, i) => {
                if (familyOfAddress(a) && !mlb.addresses.some((e) => entryFamily(e) === familyOfAddress(a) && inPoolEntry(e, a))) {
                    p.error(`${key}[${i}]`, a, "is not in metallb.addresses; MetalLB only assigns addresses of its pools", "pick an address inside the pool");
                }
            });
        }
        if (!SEMVER.test(mlb.chartVersion)) p.error(`${NAMESPACE}:metallb.chartVersion`, mlb.chartVersion, "is not an exact chart version", "use e.g. 0.16.1");
    } else if (mlb.addresses.length > 0 || mlb.loadBalancerIPs.length > 0) {
        p.error(`${NAMESPACE}:metallb`, mlb, `is only used with loadBalancer metallb (it is ${lb})`, "remove it or set traefik.loadBalancer: metallb");
    }

    // --- Install, cluster, checks -----------------------------------------------------------
    if (cfg.install.source === "airgap" && !cfg.install.airgapDir) {
        p.error(`${NAMESPACE}:install.airgapDir`, undefined, "is required with install.source airgap", "point it at a local folder holding the install script and binary");
    }
    if (cfg.install.source === "script" && cfg.install.airgapDir) {
        p.warn(`${NAMESPACE}:install.airgapDir`, cfg.install.airgapDir, "is ignored with install.source script", "remove it or set install.source: airgap");
    }
    checkExtraArgs(cfg, kube?.minor, p);
    if (!DURATION.test(cfg.cluster.tokenExpiry)) {
        p.error(`${NAMESPACE}:cluster.tokenExpiry`, cfg.cluster.tokenExpiry, "is not a duration like 30m or 1h", "use e.g. 1h");
    }
    if (cfg.cluster.kubeProxyMode === "nftables" && kube && kube.minor < 31) {
        p.error(`${NAMESPACE}:cluster.kubeProxyMode`, "nftables", "kube-proxy's nftables mode is beta only from Kubernetes 1.31", "use iptables or ipvs, or a newer version");
    }
    if (cfg.distribution === "k0s") {
        // k0s controllers without --enable-worker run no kubelet, so they are not Kubernetes nodes.
        const workers = cfg.nodes.filter((n) => n.role === "worker").length;
        if (!cfg.cluster.controllersRunWorkloads && workers === 0 && cfg.nodes.length > 1) {
            p.error(`${NAMESPACE}:cluster.controllersRunWorkloads`, false, "with k0s, controllers that do not run workloads are not Kubernetes nodes, and this stack has no workers: nothing could run pods", "set it to true or add worker nodes");
        }
        if (!cfg.cluster.controllersRunWorkloads && cfg.nodes.length === 1) {
            p.warn(`${NAMESPACE}:cluster.controllersRunWorkloads`, false, "a one-node k0s stack is installed with --single, which always runs pods", "remove the setting");
        }
        if (cfg.token !== undefined) {
            p.warn(`${NAMESPACE}:token`, "(secret)", "is ignored with k0s, which joins every node with its own short-lived token", "remove it");
        }
    }
    if (!IMAGE_REF.test(cfg.checks.probeImage)) {
        p.error(`${NAMESPACE}:checks.probeImage`, cfg.checks.probeImage, "is not an image reference", "use e.g. busybox:1.37.0");
    }
    if (cfg.checks.egressTarget !== undefined && familyOfAddress(cfg.checks.egressTarget) !== "IPv6") {
        p.error(`${NAMESPACE}:checks.egressTarget`, cfg.checks.egressTarget, "must be an IPv6 address (it proves IPv6 NAT outgoing)", "give an IPv6 address outside the cluster, e.g. your router's");
    }

    const cidrs = [pods.ipv4, pods.ipv6, svcs.ipv4, svcs.ipv6].filter((c): c is string => c !== undefined);
    for (const f of dayTwoFindings(cfg, { minor: kube?.minor, primaryFamily: primary, clusterCidrs: cidrs })) report(p, f);

    if (p.errors.length > start || !kube || !pods.ipv4 || !pods.ipv6 || !svcs.ipv4 || !svcs.ipv6) return undefined;

    // --- Assemble ---------------------------------------------------------------------------
    const families: [Family, Family] = primary === "IPv4" ? ["IPv4", "IPv6"] : ["IPv6", "IPv4"];
    const order = <T>(v4: T, v6: T): [T, T] => (primary === "IPv4" ? [v4, v6] : [v6, v4]);
    const nodes: PlannedNode[] = cfg.nodes.map((n, i) => {
        const a = addrs[i] as Required<NodeAddrs>;
        const ipv6Network = canonicalCidr(`${a.ipv6}/${a.ipv6Len}`);
        return {
            name: n.name,
            host: familyOfAddress(n.host) ? canonicalAddress(n.host) : n.host,
            role: n.role,
            index: i,
            interface: n.interface,
            ipv4: a.ipv4,
            ipv6: a.ipv6,
            ipv6PrefixLength: a.ipv6Len,
            ipv6Cidr: `${a.ipv6}/${a.ipv6Len}`,
            ipv6Network,
            ipv6Derived: n.ipv6 === undefined,
            nodeIps: order(a.ipv4, a.ipv6),
            hostKey: n.hostKey,
            labels: n.labels,
            taints: n.taints,
        };
    });
    const controlPlanes = nodes.filter((n) => n.role === "control-plane");
    const first = controlPlanes[0];
    const apiHost = primary === "IPv4" ? first.ipv4 : first.ipv6;
    // Sorted: reordering dualstack:nodes must not change what the components render.
    const v6Cidrs = nodeV6Prefix ? [nodeV6Prefix] : [...new Set(nodes.map((n) => n.ipv6Network))].sort(byCodePoint);
    const v4Cidrs = nodeV4Prefix ? [nodeV4Prefix] : nodes.map((n) => `${n.ipv4}/32`).sort(byCodePoint);
    const pair = (v4: string, v6: string): FamilyPair => ({ ipv4: v4, ipv6: v6, ordered: order(v4, v6) });
    return {
        stackName,
        distribution: cfg.distribution,
        version: cfg.version,
        kubernetes: kube,
        primaryFamily: primary,
        families,
        nodes,
        controlPlanes,
        workers: nodes.filter((n) => n.role === "worker"),
        firstControlPlane: first,
        podCidrs: pair(pods.ipv4, pods.ipv6),
        serviceCidrs: pair(svcs.ipv4, svcs.ipv6),
        nodeCidrMaskSizes: { ...masks },
        capacity,
        clusterDns: pair(addressAt(svcs.ipv4, 10n), addressAt(svcs.ipv6, 10n)),
        kubernetesService: pair(addressAt(svcs.ipv4, 1n), addressAt(svcs.ipv6, 1n)),
        api: apiEndpoint(
            apiHost,
            6443,
            controlPlanes.flatMap((n) => [n.ipv4, n.ipv6, ...(n.host !== n.ipv4 && n.host !== n.ipv6 ? [n.host] : [])]),
            cfg.cluster.registrationAddress,
        ),
        autodetection: {
            ipv4Cidrs: v4Cidrs,
            ipv6Cidrs: v6Cidrs,
            ipv4Method: `cidr=${v4Cidrs.join(",")}`,
            ipv6Method: `cidr=${v6Cidrs.join(",")}`,
        },
        ssh: {
            user: ssh.user,
            port: ssh.port,
            sudo: ssh.user !== "root",
            privateKeyPath: ssh.privateKeyPath,
            agentSocketPath: ssh.agentSocketPath,
            hasInlinePrivateKey: ssh.privateKey !== undefined,
            dialErrorLimit: ssh.dialErrorLimit,
            perDialTimeout: ssh.perDialTimeout,
            proxy: ssh.proxy && {
                host: ssh.proxy.host,
                user: ssh.proxy.user,
                port: ssh.proxy.port,
                privateKeyPath: ssh.proxy.privateKeyPath,
                agentSocketPath: ssh.proxy.agentSocketPath,
                hasInlinePrivateKey: ssh.proxy.privateKey !== undefined,
                hostKey: ssh.proxy.hostKey,
                dialErrorLimit: ssh.proxy.dialErrorLimit,
                perDialTimeout: ssh.proxy.perDialTimeout,
            },
        },
        network: { provider: net.provider },
        calico: {
            ...cal,
            encapsulation: enc,
            managedBy,
            bgp: enc.ipv4 === "None" || enc.ipv6 === "None" || enc.ipv4.startsWith("IPIP") || cal.mode === "bird" ? "Enabled" : "Disabled",
        },
        traefik: { ...tr, loadBalancer: lb },
        metallb: mlb,
        install: cfg.install,
        cluster: cfg.cluster,
        hostPrep: cfg.hostPrep,
        checks: cfg.checks,
        ...(cfg.registries ? { registries: cfg.registries } : {}),
        warnings: p.warnings,
    };
}

/** The family of a MetalLB pool entry: an address, a CIDR or an `a-b` range. */
export function entryFamily(text: string): Family | undefined {
    return familyOfAddress(text.trim()) ?? familyOfCidr(text) ?? rangeFamily(text);
}

function rangeFamily(text: string): Family | undefined {
    const parts = text.split("-");
    if (parts.length !== 2) return undefined;
    const [a, b] = parts.map((s) => familyOfAddress(s.trim()));
    return a && a === b ? a : undefined;
}

/** Reads, validates and plans in one go; throws a ConfigError listing every problem. */
export function loadPlan(raw: RawConfig, stackName: string, allKeys: string[] = []): { plan: Plan; config: StackConfig } {
    const problems = new Problems();
    problems.errors.push(...unknownKeys(allKeys));
    const cfg = parseStackConfig(raw, problems);
    const plan = cfg ? buildPlan(cfg, stackName, problems) : undefined;
    problems.throwIfAny();
    if (!plan || !cfg) throw new ConfigError(problems.errors, problems.warnings);
    return { plan, config: cfg };
}

/** Unknown `dualstack:*` keys are usually typos of a documented key. */
export function unknownKeys(allKeys: string[]): Problem[] {
    const known = new Set(CONFIG_KEYS.map((k) => `${NAMESPACE}:${k}`));
    return allKeys
        .filter((k) => k.startsWith(`${NAMESPACE}:`) && !known.has(k))
        .map((k) => ({ key: k, value: "(set)", rule: "is not a dualstack config key", fix: `use one of ${CONFIG_KEYS.join(", ")}` }));
}
