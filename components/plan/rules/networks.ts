// Pod, service and node networks: one CIDR of each family, sizes the components accept, room for
// every node, no overlaps. Returns the canonical CIDRs and the capacity the summary prints.
import { NAMESPACE, StackConfig } from "../../config";
import {
    addressBits,
    canonicalCidr,
    cidrRange,
    cidrsOverlap,
    Family,
    familyOfCidr,
    isAlignedCidr,
    isGoGlobalUnicastV6,
    prefixLength,
} from "../../net";
import type { Problems } from "../../problems";
import type { Capacity } from "../types";

/** One CIDR per family as parsed (canonical); absent where the config was wrong. */
export interface CidrPair {
    ipv4?: string;
    ipv6?: string;
    primary?: Family;
}

export interface Networks {
    pods: CidrPair;
    svcs: CidrPair;
    primary: Family;
    nodeV4Prefix?: string;
    nodeV6Prefix?: string;
    capacity: Capacity;
}

export function checkNetworks(cfg: StackConfig, p: Problems): Networks {
    const net = cfg.network;
    const pods = checkCidrPair(`${NAMESPACE}:network.podCidrs`, net.podCidrs, p);
    const svcs = checkCidrPair(`${NAMESPACE}:network.serviceCidrs`, net.serviceCidrs, p);
    if (pods.primary && svcs.primary && pods.primary !== svcs.primary) {
        p.error(`${NAMESPACE}:network.serviceCidrs[0]`, net.serviceCidrs[0], `is ${svcs.primary} but podCidrs[0] is ${pods.primary}; k3s and kube-apiserver require the same primary family`, "put the CIDRs of the same family first in both lists");
    }
    const primary: Family = pods.primary ?? "IPv4";
    checkServiceSizes(svcs, p);
    const nodeV6Prefix = nodeIpv6Prefix(cfg, p);
    const nodeV4Prefix = nodeIpv4Prefix(cfg, p);
    const capacity = capacityOf(cfg, pods, svcs, p);
    checkOverlaps(pods, svcs, nodeV4Prefix, nodeV6Prefix, p);
    return { pods, svcs, primary, nodeV4Prefix, nodeV6Prefix, capacity };
}

export function checkCidrPair(
    key: string,
    list: string[],
    p: Problems,
): CidrPair {
    const out: CidrPair = {};
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

function checkServiceSizes(svcs: CidrPair, p: Problems): void {
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
}

function nodeIpv6Prefix(cfg: StackConfig, p: Problems): string | undefined {
    const net = cfg.network;
    if (net.nodeIpv6Prefix === undefined) return undefined;
    if (familyOfCidr(net.nodeIpv6Prefix) !== "IPv6") {
        p.error(`${NAMESPACE}:network.nodeIpv6Prefix`, net.nodeIpv6Prefix, "is not an IPv6 CIDR", "give the hosts' IPv6 network, e.g. fd45:a71:55a6:1::/64");
    } else if (!isAlignedCidr(net.nodeIpv6Prefix)) {
        p.error(`${NAMESPACE}:network.nodeIpv6Prefix`, net.nodeIpv6Prefix, "has host bits set after the prefix length", `use ${canonicalCidr(net.nodeIpv6Prefix)}`);
    } else if (!isGoGlobalUnicastV6(cidrRange(net.nodeIpv6Prefix).getFirst().toString())) {
        p.error(`${NAMESPACE}:network.nodeIpv6Prefix`, net.nodeIpv6Prefix, "is link-local, multicast or loopback; Calico's autodetection (Go IsGlobalUnicast) never picks such addresses", "use a ULA prefix from fd00::/8 (RFC 4193, random 40-bit global ID) or your global prefix");
    } else {
        return canonicalCidr(net.nodeIpv6Prefix);
    }
    return undefined;
}

function nodeIpv4Prefix(cfg: StackConfig, p: Problems): string | undefined {
    const net = cfg.network;
    if (net.nodeIpv4Prefix === undefined) return undefined;
    if (familyOfCidr(net.nodeIpv4Prefix) !== "IPv4" || !isAlignedCidr(net.nodeIpv4Prefix)) {
        p.error(`${NAMESPACE}:network.nodeIpv4Prefix`, net.nodeIpv4Prefix, "is not an aligned IPv4 CIDR", "give the hosts' IPv4 network, e.g. 192.168.121.0/24");
        return undefined;
    }
    return canonicalCidr(net.nodeIpv4Prefix);
}

/** Node subnets and addresses per family; refuses node masks that do not fit the pod CIDRs. */
function capacityOf(cfg: StackConfig, pods: CidrPair, svcs: CidrPair, p: Problems): Capacity {
    const masks = cfg.network.nodeCidrMaskSizes;
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
    return capacity;
}

/** Overlaps between pod, service and node networks, per family. */
function checkOverlaps(pods: CidrPair, svcs: CidrPair, nodeV4Prefix: string | undefined, nodeV6Prefix: string | undefined, p: Problems): void {
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
}
