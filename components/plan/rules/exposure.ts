// Exposure: Traefik's chart and load balancer, its external IPs, and MetalLB's pools, each with
// addresses of both families (a RequireDualStack Service needs both) outside the cluster's networks.
import { NAMESPACE, StackConfig } from "../../config";
import { addressAt, canonicalAddress, canonicalCidr, cidrContainsAddress, cidrsOverlap, Family, familyOfAddress, familyOfCidr, hostOffset, isAlignedCidr } from "../../net";
import { profileOf } from "../../distributions";
import type { Problems } from "../../problems";
import { SEMVER } from "../formats";
import type { Plan } from "../types";
import type { CidrPair } from "./networks";

type LoadBalancer = Plan["traefik"]["loadBalancer"];

export function checkExposure(cfg: StackConfig, pods: CidrPair, svcs: CidrPair, p: Problems): LoadBalancer {
    const tr = cfg.traefik;
    const profile = profileOf(cfg.distribution);
    const lb = tr.loadBalancer ?? profile.defaultLoadBalancer;
    if (!SEMVER.test(tr.chartVersion)) {
        p.error(`${NAMESPACE}:traefik.chartVersion`, tr.chartVersion, "is not an exact chart version", "use e.g. 41.3.0");
    } else if (Number(tr.chartVersion.split(".")[0]) < 40) {
        // Charts below 40 take the Service settings at the top level of `service`; supporting both
        // layouts doubles the chances of the silent IPv4-only Service this project exists to prevent.
        p.error(`${NAMESPACE}:traefik.chartVersion`, tr.chartVersion, "Traefik charts below 40.0.0 use a different Service layout and are not supported", "use chart 40.0.0 or newer, e.g. 41.3.0");
    }
    if (lb === "servicelb" && profile.builtInLoadBalancer !== "servicelb") {
        p.error(`${NAMESPACE}:traefik.loadBalancer`, lb, `ServiceLB is part of k3s; ${profile.name} has no built-in load balancer`, "use metallb, externalIPs or none");
    }
    if (lb === "externalIPs") {
        const fams = checkPair(`${NAMESPACE}:traefik.externalIPs`, tr.externalIPs, "one IPv4 and one IPv6 address", false, p);
        onePerFamily(`${NAMESPACE}:traefik.externalIPs`, tr.externalIPs, fams, p);
        notInCluster(`${NAMESPACE}:traefik.externalIPs`, tr.externalIPs, pods, svcs, p);
    } else if (tr.externalIPs.length > 0) {
        p.error(`${NAMESPACE}:traefik.externalIPs`, tr.externalIPs, `is only used with loadBalancer externalIPs (it is ${lb})`, "remove it or set traefik.loadBalancer: externalIPs");
    }
    checkMetallb(cfg, lb, pods, svcs, p);
    return lb;
}

function checkMetallb(cfg: StackConfig, lb: LoadBalancer, pods: CidrPair, svcs: CidrPair, p: Problems): void {
    const mlb = cfg.metallb;
    if (lb === "metallb") {
        checkPair(`${NAMESPACE}:metallb.addresses`, mlb.addresses, "a CIDR or a-b range", true, p);
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
            const fams = checkPair(key, mlb.loadBalancerIPs, "one fixed address", false, p);
            // MetalLB refuses two addresses of one family in metallb.io/loadBalancerIPs.
            onePerFamily(key, mlb.loadBalancerIPs, fams, p);
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
}

function checkPair(key: string, list: string[], what: string, allowRanges: boolean, p: Problems): (Family | undefined)[] {
    const fams = list.map((a, i) => {
        const fam = familyOfAddress(a) ?? (allowRanges ? (familyOfCidr(a) ?? rangeFamily(a)) : undefined);
        if (!fam) p.error(`${key}[${i}]`, a, `is not an ${allowRanges ? "address, CIDR or a-b range" : "IP address"}`, `give ${what}`);
        return fam;
    });
    if (!fams.includes("IPv4") || !fams.includes("IPv6")) {
        p.error(key, list, "must hold addresses of both families for a RequireDualStack Service", `give ${what} of each family`);
    }
    return fams;
}

// Address value for ordering a-b ranges (offset from the family's all-zero address).
function valueOf(a: string): bigint {
    return hostOffset(familyOfAddress(a) === "IPv4" ? "0.0.0.0/0" : "::/0", a);
}

export function inPoolEntry(entry: string, a: string): boolean {
    if (familyOfCidr(entry)) return cidrContainsAddress(entry, a);
    if (familyOfAddress(entry.trim())) return canonicalAddress(entry.trim()) === canonicalAddress(a);
    const [lo, hi] = entry.split("-").map((x) => x.trim());
    return familyOfAddress(lo) === familyOfAddress(a) && valueOf(lo) <= valueOf(a) && valueOf(a) <= valueOf(hi);
}

/** A CIDR and a pool entry overlap when the CIDR holds the entry's first address or the entry holds the CIDR's. */
function overlapsEntry(cidr: string, entry: string): boolean {
    return familyOfCidr(entry) ? cidrsOverlap(cidr, entry) : cidrContainsAddress(cidr, entry.split("-")[0].trim()) || inPoolEntry(entry, addressAt(cidr, 0n));
}

function onePerFamily(key: string, list: string[], fams: (Family | undefined)[], p: Problems): void {
    if (list.length > 2 || (list.length === 2 && fams[0] === fams[1])) p.error(key, list, "takes one address per family", "keep one IPv4 and one IPv6 address");
}

// kube-apiserver refuses these in spec.externalIPs (validation.go validateNonSpecialIP).
const SPECIAL = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "::/128", "::1/128", "fe80::/10", "ff00::/8"];

function notInCluster(key: string, list: string[], pods: CidrPair, svcs: CidrPair, p: Problems): void {
    list.forEach((a, i) => {
        if (!familyOfAddress(a)) return;
        if (SPECIAL.some((c) => cidrContainsAddress(c, a))) p.error(`${key}[${i}]`, a, "is an unspecified, loopback, link-local or multicast address", "use an address your router sends to the nodes");
        for (const [k, c] of [["podCidrs", pods], ["serviceCidrs", svcs]] as const) {
            const cidr = familyOfAddress(a) === "IPv4" ? c.ipv4 : c.ipv6;
            if (cidr && cidrContainsAddress(cidr, a)) p.error(`${key}[${i}]`, a, `lies inside network.${k} ${cidr}`, "use an address of the node network");
        }
    });
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
