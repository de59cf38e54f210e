// Nodes: names, hosts, interfaces, host keys, labels and taints; each node's IPv4 and IPv6 address
// (given, or derived from network.nodeIpv6Prefix), unique and outside the cluster's networks.
import { createHash } from "node:crypto";
import { NAMESPACE, NodeConfig, StackConfig } from "../../config";
import { addressAt, canonicalAddress, canonicalCidr, cidrContainsAddress, familyOfAddress, hostOffset, isGoGlobalUnicastV6, prefixLength } from "../../net";
import { profileOf } from "../../distributions";
import type { Problems } from "../../problems";
import { DNS_NAME, HOST_KEY } from "../formats";
import type { Networks } from "./networks";

// Kubernetes node names end up in resource names, file names and kubectl arguments: DNS-1123 labels only.
const NODE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Linux IFNAMSIZ is 16 including the NUL; no shell metacharacters, no slash, no whitespace.
const IFACE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)$/;
const TAINT = /^(([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)(=[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?:(NoSchedule|PreferNoSchedule|NoExecute)$/;

export interface NodeAddrs {
    ipv4?: string;
    ipv6?: string;
    ipv6Len?: number;
}

export function nodeKey(i: number, field?: string): string {
    return `${NAMESPACE}:nodes[${i}]${field ? `.${field}` : ""}`;
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

/** Every node's addresses (given or derived), and a control plane that fits the distribution. */
export function checkNodes(cfg: StackConfig, nets: Networks, p: Problems): NodeAddrs[] {
    const names = new Map<string, number>();
    const addrs: NodeAddrs[] = cfg.nodes.map(() => ({}));
    cfg.nodes.forEach((n: NodeConfig, i) => {
        checkIdentity(n, i, names, p);
        const v4 = givenIpv4(n, i, p);
        if (v4 !== undefined) addrs[i].ipv4 = v4;
        Object.assign(addrs[i], givenIpv6(cfg, n, i, nets.nodeV6Prefix, p));
    });
    const seen6 = checkCollisions(addrs, nets, p);
    if (nets.nodeV6Prefix) {
        const missing = cfg.nodes.filter((_, i) => !addrs[i].ipv6 && cfg.nodes[i].ipv6 === undefined).map((n) => n.name);
        const derived = deriveIpv6Addresses(nets.nodeV6Prefix, missing, [...seen6.keys()]);
        cfg.nodes.forEach((n, i) => {
            const d = derived.get(n.name);
            if (d && !addrs[i].ipv6) {
                addrs[i].ipv6 = d;
                addrs[i].ipv6Len = prefixLength(nets.nodeV6Prefix!);
            }
        });
    }
    const cps = cfg.nodes.filter((n) => n.role === "control-plane");
    const warning = profileOf(cfg.distribution).twoControlPlanesWarning;
    if (cps.length === 0) {
        p.error(`${NAMESPACE}:nodes`, cfg.nodes.map((n) => n.name), "has no control-plane node", "give at least one node role: control-plane");
    } else if (warning !== undefined && cps.length === 2) {
        p.warn(`${NAMESPACE}:nodes`, cps.map((n) => n.name), warning, "use one or three control-plane nodes");
    }
    return addrs;
}

function checkIdentity(n: NodeConfig, i: number, names: Map<string, number>, p: Problems): void {
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
}

function givenIpv4(n: NodeConfig, i: number, p: Problems): string | undefined {
    const v4 = n.ipv4 ?? (familyOfAddress(n.host) === "IPv4" ? n.host : undefined);
    if (v4 === undefined) {
        p.error(nodeKey(i, "ipv4"), undefined, "is required when host is not an IPv4 literal", "give the node's IPv4 address on its interface");
    } else if (familyOfAddress(v4) !== "IPv4") {
        p.error(nodeKey(i, "ipv4"), v4, "is not an IPv4 address", "give a dotted-quad address without prefix length");
    } else {
        return canonicalAddress(v4);
    }
    return undefined;
}

function givenIpv6(cfg: StackConfig, n: NodeConfig, i: number, nodeV6Prefix: string | undefined, p: Problems): { ipv6?: string; ipv6Len?: number } {
    const net = cfg.network;
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
            if (cidrContainsAddress("2001:db8::/32", addr)) p.warn(nodeKey(i, "ipv6"), n.ipv6, "is inside the documentation prefix 2001:db8::/32", "use a ULA (fd00::/8)");
            if (cidrContainsAddress("fec0::/10", addr)) p.warn(nodeKey(i, "ipv6"), n.ipv6, "is inside the deprecated site-local prefix fec0::/10", "use a ULA (fd00::/8)");
            return { ipv6: canonicalAddress(addr), ipv6Len: plen };
        }
    } else if (!nodeV6Prefix && net.nodeIpv6Prefix === undefined) {
        p.error(nodeKey(i, "ipv6"), undefined, "is required when network.nodeIpv6Prefix is not set", "set network.nodeIpv6Prefix to derive addresses, or give this node an ipv6");
    }
    return {};
}

/** Addresses must not collide with each other or with cluster networks; returns the IPv6 addresses taken. */
function checkCollisions(addrs: NodeAddrs[], nets: Networks, p: Problems): Map<string, number> {
    const { pods, svcs, nodeV4Prefix } = nets;
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
    return seen6;
}
