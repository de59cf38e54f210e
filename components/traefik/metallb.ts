// MetalLB for `traefik.loadBalancer: metallb`: chart values, one dual-stack IPAddressPool and an
// L2Advertisement, as pure functions of the plan.
//
// Why one pool with both families: "In order for MetalLB to allocate IPs to a dual stack service,
// there must be at least one address pool having both addresses of version v4 and v6"
// (metallb website, configuration/_index.md; domain-facts F.2). Why L2: dual-stack works in L2 mode,
// in BGP mode only with FRR, and MetalLB's BGP would compete with Calico's BGP sessions to the same
// peers (metallb configuration/calico.md).
import { canonicalAddress, canonicalCidr, Family, familyOfAddress, familyOfCidr } from "../net";
import { entryFamily, Plan } from "../plan";
import { yamlWithHeader } from "./values";

export const METALLB = {
    chart: "metallb",
    repo: "https://metallb.github.io/metallb",
    namespace: "metallb-system",
    release: "metallb",
    pool: "dualstack",
    advertisement: "dualstack",
    apiVersion: "metallb.io/v1beta1",
} as const;

export interface MetallbValues {
    /** FRR is only needed for BGP; native L2 mode needs no routing daemon on the nodes. */
    speaker: { frr: { enabled: false } };
}

export function metallbValues(_plan: Plan): MetallbValues {
    return { speaker: { frr: { enabled: false } } };
}

export interface Manifest {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string };
    spec: Record<string, unknown>;
}


/**
 * One pool entry in the form MetalLB parses (`internal/config` ParseCIDR: a CIDR, or `a-b`): CIDRs
 * canonical (MetalLB masks host bits the same way), ranges with canonical ends, and a single
 * address as its host CIDR, because MetalLB refuses a bare address ("invalid CIDR").
 */
export function poolEntry(entry: string): string {
    if (familyOfCidr(entry)) return canonicalCidr(entry);
    const fam = familyOfAddress(entry.trim());
    if (fam) return `${canonicalAddress(entry.trim())}/${fam === "IPv4" ? 32 : 128}`;
    const [a, b] = entry.split("-").map((s) => s.trim());
    return `${canonicalAddress(a)}-${canonicalAddress(b)}`;
}

/** The pool's addresses, primary family first (order within a family kept; it means nothing to MetalLB). */
export function poolAddresses(plan: Plan): string[] {
    const rank = (e: string) => plan.families.indexOf(entryFamily(e) as Family);
    return plan.metallb.addresses
        .map((e, i) => ({ e: poolEntry(e), i }))
        .sort((x, y) => rank(x.e) - rank(y.e) || x.i - y.i)
        .map((x) => x.e);
}

export function ipAddressPool(plan: Plan): Manifest {
    return {
        apiVersion: METALLB.apiVersion,
        kind: "IPAddressPool",
        metadata: { name: METALLB.pool, namespace: METALLB.namespace },
        spec: { addresses: poolAddresses(plan) },
    };
}

export function l2Advertisement(_plan: Plan): Manifest {
    return {
        apiVersion: METALLB.apiVersion,
        kind: "L2Advertisement",
        metadata: { name: METALLB.advertisement, namespace: METALLB.namespace },
        spec: { ipAddressPools: [METALLB.pool] },
    };
}

export function metallbValuesYaml(plan: Plan): string {
    return yamlWithHeader(
        [`Helm values for chart ${METALLB.chart} ${plan.metallb.chartVersion} (${METALLB.repo}), release ${METALLB.release} in namespace ${METALLB.namespace}.`],
        metallbValues(plan),
    );
}

export function manifestYaml(m: Manifest): string {
    return yamlWithHeader([`${m.kind} ${m.metadata.namespace}/${m.metadata.name}, applied by dualstack after the MetalLB release.`], m);
}
