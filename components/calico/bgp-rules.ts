// The rules for `dualstack:calico.bgp` (peering with the upstream router) and for IPv6 NAT outgoing
// on a pool the network may route. Pure: the parsed config section and what earlier rules derived
// in, problems into `p`, this part of the plan out. Passwords never enter the plan: it only says
// which peers have one (`peerPasswords` hands them to stack.ts, which wraps them as secrets).
import { z } from "zod";
import type { bgpSchema } from "../config";
import { NAMESPACE, SECURE_VALUE } from "../config";
import {
    addressAt,
    canonicalAddress,
    canonicalCidr,
    cidrContainsAddress,
    cidrsOverlap,
    Family,
    familyOfAddress,
    familyOfCidr,
    hostOffset,
} from "../net";
import { IPv4, IPv6 } from "ip-num";
import type { Problems } from "../problems";

export type BgpConfig = z.infer<typeof bgpSchema>;

/** BGP's 4-octet AS range (RFC 6793); 23456 is AS_TRANS, which only stands in for a 4-octet AS. */
export const AS_MIN = 1;
export const AS_MAX = 4294967295;
export const AS_TRANS = 23456;
/**
 * The largest AS number the API server stores in Calico's crd.projectcalico.org/v1 objects: their
 * CRDs declare `asNumber` as `type: integer, format: int32` (projectcalico/calico
 * libcalico-go/config/crd/crd.projectcalico.org_bgppeers.yaml and _bgpconfigurations.yaml), and
 * kube-apiserver refuses a larger value ("Checked value must be of type integer with format
 * int32"; test/lab/controlplane.lab.spec.ts, kube-apiserver v1.36.3). BGP itself and calico-node
 * (numorstring.ASNumber, a uint32) go up to AS_MAX, so the private 4-octet range
 * 4200000000-4294967294 (RFC 6996) is out of reach through the v1 objects dualstack writes.
 */
export const AS_V1_MAX = 2147483647;
/** Calico: "BGP passwords must be 80 characters or fewer" (docs, Secure BGP sessions). */
const UNSAFE_PASSWORD = /["\\\x00-\x1f\x7f]/;
export const MAX_PASSWORD = 80;

export interface PlannedPeer {
    /** Object name of the BGPPeer, and the key of its password in the Secret. */
    name: string;
    /** Canonical address; the session's family follows it. */
    peerIP: string;
    family: Family;
    asNumber: number;
    nodeSelector?: string;
    keepOriginalNextHop: boolean;
    hasPassword: boolean;
    /** Position in dualstack:calico.bgp.peers, for messages. */
    index: number;
}

export interface BgpPlan {
    asNumber: number;
    nodeToNodeMesh: boolean;
    /** Sorted by object name, so reordering the config list changes nothing. */
    peers: PlannedPeer[];
    /** CIDRs Calico announces to its peers; empty when that kind is not advertised. */
    advertise: { serviceClusterIPs: string[]; serviceExternalIPs: string[]; serviceLoadBalancerIPs: string[] };
}

export interface BgpRuleInput {
    calico: { mode: "bird" | "vxlan"; ipv6NatOutgoing: boolean; bgp?: BgpConfig };
    serviceCidrs: { ipv4?: string; ipv6?: string };
    podCidrIpv6?: string;
    loadBalancer: "servicelb" | "metallb" | "externalIPs" | "none";
    metallbAddresses: string[];
    externalIPs: string[];
    /** Every node's canonical addresses (both families). */
    nodeAddresses: string[];
    nodeCount: number;
}

const key = (path: string) => `${NAMESPACE}:calico.${path}`;

/**
 * The BGPPeer name for an address: readable and stable (reordering peers renames nothing).
 * IPv6 is written out in full so the name never ends in `-` (a `::` suffix would), which a
 * Kubernetes object name (DNS-1123 subdomain) forbids.
 */
export function peerName(address: string): string {
    const fam = familyOfAddress(address);
    const full = fam === "IPv6" ? IPv6.fromString(address).toString() : IPv4.fromDecimalDottedString(address).toString();
    return `dualstack-${full.toLowerCase().replace(/[:.]/g, "-")}`;
}

/** Addresses no BGP session can use (kube-apiserver's special ranges; link-local needs a zone). */
const SPECIAL = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32", "::/128", "::1/128", "fe80::/10", "ff00::/8"];

/** RFC 4193 unique local addresses. */
export const ULA = "fc00::/7";

function asProblem(p: Problems, k: string, as: number): boolean {
    if (as < AS_MIN || as > AS_MAX || as === AS_TRANS) {
        p.error(k, as, `is not a usable AS number (${AS_MIN}-${AS_MAX}, and ${AS_TRANS} is AS_TRANS, reserved by RFC 6793)`, "use a private AS such as 64512-65534, or the number your network assigned");
        return true;
    }
    if (as > AS_V1_MAX) {
        p.error(
            k,
            as,
            `is above ${AS_V1_MAX}: Calico's crd.projectcalico.org/v1 BGPConfiguration and BGPPeer declare asNumber as a 32-bit signed integer (int32), and the Kubernetes API server refuses larger values, so the 4-octet private range 4200000000-4294967294 cannot be written`,
            `use a 2-octet private AS (64512-65534) or an assigned AS up to ${AS_V1_MAX}; for a router that must see a 4-octet private AS, have it accept a 2-octet one for this cluster`,
        );
        return true;
    }
    return false;
}

/**
 * A MetalLB pool entry (CIDR, address or `a-b` range) as the fewest CIDRs covering exactly it,
 * because BGPConfiguration.serviceLoadBalancerIPs takes CIDRs only. Entries that do not parse
 * give [] (the MetalLB rules report them).
 */
export function entryCidrs(entry: string): string[] {
    const text = entry.trim();
    if (familyOfCidr(text)) return [canonicalCidr(text)];
    const single = familyOfAddress(text);
    if (single) return [`${canonicalAddress(text)}/${single === "IPv4" ? 32 : 128}`];
    const ends = text.split("-").map((s) => s.trim());
    if (ends.length !== 2) return [];
    const fam = familyOfAddress(ends[0]);
    if (!fam || fam !== familyOfAddress(ends[1])) return [];
    const zero = fam === "IPv4" ? "0.0.0.0/0" : "::/0";
    const bits = fam === "IPv4" ? 32 : 128;
    let lo = hostOffset(zero, ends[0]);
    const hi = hostOffset(zero, ends[1]);
    const out: string[] = [];
    // Greedy: the largest aligned block starting at `lo` that stays within `hi`.
    while (lo <= hi) {
        let size = 0;
        while (size < bits && lo % (1n << BigInt(size + 1)) === 0n && lo + (1n << BigInt(size + 1)) - 1n <= hi) size++;
        out.push(`${addressAt(zero, lo)}/${bits - size}`);
        lo += 1n << BigInt(size);
    }
    return out;
}

/** Judges calico.bgp and calico.ipv6NatOutgoing; returns the BGP part of the plan when bgp is set. */
export function bgpRule(input: BgpRuleInput, p: Problems): BgpPlan | undefined {
    natNotes(input, p);
    const bgp = input.calico.bgp;
    if (!bgp) return undefined;
    const start = p.errors.length;
    if (input.calico.mode !== "bird") {
        p.error(key("mode"), input.calico.mode, "calico.bgp applies to mode bird only: in vxlan mode calico-node runs without BIRD, so nothing would speak BGP", "set calico.mode: bird, or remove calico.bgp");
    }
    asProblem(p, key("bgp.asNumber"), bgp.asNumber);

    const seen = new Map<string, number>();
    const nodes = new Set(input.nodeAddresses);
    const peers: PlannedPeer[] = [];
    bgp.peers.forEach((peer, i) => {
        const at = (field: string) => key(`bgp.peers[${i}].${field}`);
        const fam = familyOfAddress(peer.peerIP);
        let ok = !asProblem(p, at("asNumber"), peer.asNumber);
        if (!fam) {
            p.error(at("peerIP"), peer.peerIP, "is not an IP address (no port, prefix length, brackets or zone)", "give the router's address on the node network, e.g. 192.0.2.1 or fd00:db8::1");
            ok = false;
        } else {
            const addr = canonicalAddress(peer.peerIP);
            if (SPECIAL.some((c) => cidrContainsAddress(c, addr))) {
                p.error(at("peerIP"), peer.peerIP, "is an unspecified, loopback, link-local, multicast or broadcast address, which a BGPPeer cannot use", "give the router's global or ULA address on the node network");
                ok = false;
            } else if (seen.has(addr)) {
                p.error(at("peerIP"), peer.peerIP, `repeats the address of calico.bgp.peers[${seen.get(addr)}] (Calico keeps one session per address)`, "list each router once");
                ok = false;
            } else if (nodes.has(addr)) {
                p.error(at("peerIP"), peer.peerIP, "is a node's own address; nodes already peer with each other through the node-to-node mesh", "give the upstream router's address");
                ok = false;
            }
            seen.set(addr, seen.get(addr) ?? i);
        }
        if (peer.password !== undefined && peer.password !== SECURE_VALUE && peer.password.length > MAX_PASSWORD) {
            p.error(at("password"), "(secret)", `is longer than ${MAX_PASSWORD} characters; Calico cannot establish a session with such a password`, `use at most ${MAX_PASSWORD} characters, the same on the router`);
            ok = false;
        }
        // confd writes `password "<value>"` into BIRD's config unescaped, and BIRD strings have no
        // escapes: a quote, backslash or control character breaks calico-node's whole BGP config
        // (seen with bird2 in the lab; the template is confd/etc/calico/confd/templates/bird*.cfg.template).
        if (peer.password !== undefined && peer.password !== SECURE_VALUE && UNSAFE_PASSWORD.test(peer.password)) {
            p.error(at("password"), "(secret)", "contains a double quote, a backslash or a control character, which calico-node's BIRD configuration cannot carry", "use printable characters other than \" and \\ (the same password on the router)");
            ok = false;
        }
        if (peer.keepOriginalNextHop && peer.asNumber === bgp.asNumber) {
            p.warn(at("keepOriginalNextHop"), true, "has no effect on a peer in the cluster's own AS: confd only writes `next hop keep` for eBGP peers", "remove it, or peer over eBGP");
        }
        if (ok && fam) {
            const addr = canonicalAddress(peer.peerIP);
            peers.push({
                name: peerName(addr),
                peerIP: addr,
                family: fam,
                asNumber: peer.asNumber,
                ...(peer.nodeSelector !== undefined ? { nodeSelector: peer.nodeSelector } : {}),
                keepOriginalNextHop: peer.keepOriginalNextHop,
                hasPassword: peer.password !== undefined,
                index: i,
            });
        }
    });
    if (!bgp.nodeToNodeMesh && bgp.peers.length === 0 && input.nodeCount > 1) {
        p.error(key("bgp.nodeToNodeMesh"), false, "with the mesh off and no peers, no node learns the pod routes of another", "keep nodeToNodeMesh: true, or add the router(s) that reflect the routes as peers");
    }
    const fams = new Set(peers.map((x) => x.family));
    if (peers.length > 0 && fams.size === 1) {
        const missing = fams.has("IPv4") ? "IPv6" : "IPv4";
        p.warn(key("bgp.peers"), peers.map((x) => x.peerIP), `has no ${missing} peer: Calico announces ${missing} routes only over ${missing} sessions, so the router learns no ${missing} pod or Service route`, `add the router's ${missing} address as a second peer`);
    }

    const adv = bgp.advertise;
    const lbCidrs = input.metallbAddresses.flatMap(entryCidrs);
    if (adv.serviceLoadBalancerIPs && (input.loadBalancer !== "metallb" || lbCidrs.length === 0)) {
        p.error(
            key("bgp.advertise.serviceLoadBalancerIPs"),
            true,
            `there is no load-balancer pool to advertise (traefik.loadBalancer is ${input.loadBalancer}; only MetalLB has one, ServiceLB publishes the nodes' own addresses)`,
            "set traefik.loadBalancer: metallb with metallb.addresses, or set serviceLoadBalancerIPs: false",
        );
    }
    const extCidrs = input.externalIPs.filter((a) => familyOfAddress(a)).map((a) => entryCidrs(a)[0]);
    if (adv.serviceExternalIPs && (input.loadBalancer !== "externalIPs" || extCidrs.length === 0)) {
        p.error(key("bgp.advertise.serviceExternalIPs"), true, `there are no external IPs to advertise (traefik.loadBalancer is ${input.loadBalancer})`, "set traefik.loadBalancer: externalIPs with traefik.externalIPs, or set serviceExternalIPs: false");
    }
    if (p.errors.length > start) return undefined;
    const svc = [input.serviceCidrs.ipv4, input.serviceCidrs.ipv6].filter((c): c is string => c !== undefined);
    return {
        asNumber: bgp.asNumber,
        nodeToNodeMesh: bgp.nodeToNodeMesh,
        peers: peers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
        advertise: {
            serviceClusterIPs: adv.serviceClusterIPs ? svc : [],
            serviceExternalIPs: adv.serviceExternalIPs ? extCidrs : [],
            serviceLoadBalancerIPs: adv.serviceLoadBalancerIPs ? lbCidrs : [],
        },
    };
}

/**
 * NAT outgoing for the IPv6 pool. Off is right for a pool the network routes (pods keep their own
 * addresses end to end, which is the point of routed IPv6); with a ULA pool it strands pods without
 * IPv6 internet (ULAs are not routed on the internet, RFC 4193 section 4.1); on with a global pool
 * hides the pods behind the node's address, which is likely not wanted.
 */
function natNotes(input: BgpRuleInput, p: Problems): void {
    const pool = input.podCidrIpv6;
    if (!pool || familyOfCidr(pool) !== "IPv6") return;
    const ula = cidrsOverlap(pool, ULA);
    if (ula && !input.calico.ipv6NatOutgoing) {
        p.warn(key("ipv6NatOutgoing"), false, `the IPv6 pod pool ${pool} is ULA (fc00::/7): without NAT its pods cannot reach the internet over IPv6, only networks that route ${pool} back to the cluster`, "keep ipv6NatOutgoing: true, or use a global pod prefix your router routes to the cluster (calico.bgp)");
    }
    if (!ula && input.calico.ipv6NatOutgoing) {
        p.warn(key("ipv6NatOutgoing"), true, `note: the IPv6 pod pool ${pool} is a global prefix; NAT outgoing makes its pods leave with the node's address, which is likely not wanted for a routed pool`, "set calico.ipv6NatOutgoing: false and let the router route the pool (calico.bgp peers)");
    }
}

/** The peers' passwords by BGPPeer name (the Secret's keys); only for stack.ts, which makes them secrets. */
export function peerPasswords(bgp: BgpConfig | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    for (const peer of bgp?.peers ?? []) {
        if (peer.password !== undefined && familyOfAddress(peer.peerIP)) out[peerName(canonicalAddress(peer.peerIP))] = peer.password;
    }
    return out;
}
