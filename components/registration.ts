// dualstack:cluster.registrationAddress: a DNS name or an address of either family in front of
// the control planes (a VIP or load balancer; k3s' HA docs call it the "fixed registration
// address"). It is added to the API server certificate's SANs on every server/controller, it is
// the address agents and workers join, and the server of the exported kubeconfig. Joining
// servers still join through the first server, which is up before any other (k3s HA docs join
// servers through an existing server; a load balancer may not have a healthy backend yet).
//
// What a distribution cannot do with it is in its profile (distributions/<name>.ts, dayTwo.
// registrationAddress): k0s' `spec.api.externalAddress` refuses an address of the other family
// and warns on a DNS name (k0s#5841). Pure.
import type { DayTwoProfile } from "./distributions/profile";
import { findings, Findings } from "./findings";
import { canonicalAddress, cidrContainsAddress, Family, familyOfAddress, httpsUrl } from "./net";
import { byCodePoint } from "./order";

const KEY = "dualstack:cluster.registrationAddress";
const DNS_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?$/;
/** Addresses no client can reach a load balancer at (loopback, link-local, multicast, unspecified). */
const UNUSABLE = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "::/128", "::1/128", "fe80::/10", "ff00::/8"];

export interface RegistrationContext {
    /** What the distribution adds to the shared rules (its profile's day-two entry). */
    profile: DayTwoProfile["registrationAddress"];
    primaryFamily: Family;
    /** Pod and service CIDRs of both families (a VIP inside them would be routed into the cluster). */
    clusterCidrs: string[];
}

export function registrationFindings(address: string | undefined, c: RegistrationContext): Findings {
    const f = findings();
    if (address === undefined) return f;
    const { unsupported, dnsName, otherFamily } = c.profile;
    if (unsupported) {
        f.error(KEY, address, unsupported.rule, unsupported.fix);
        return f;
    }
    const fam = familyOfAddress(address);
    if (!fam) {
        if (/^\[.*\]$/.test(address) || /^[a-z]+:\/\//i.test(address) || /:\d+$/.test(address)) {
            f.error(KEY, address, "must be a bare address or DNS name (no brackets, scheme or port; the API port is 6443)", `write e.g. ${bareHint(address)}`);
        } else if (!DNS_NAME.test(address)) {
            f.error(KEY, address, "is neither an IP address nor a DNS name", "give the VIP or load balancer's address or name, e.g. api.example.com or fd45:a71:55a6:1::100");
        } else if (dnsName) {
            const w = dnsName(c.primaryFamily);
            f.warn(KEY, address, w.rule, w.fix);
        }
        return f;
    }
    if (UNUSABLE.some((cidr) => cidrContainsAddress(cidr, address))) {
        f.error(KEY, address, "is a loopback, link-local, multicast or unspecified address that clients cannot reach", "give the VIP or load balancer's routable address");
    }
    for (const cidr of c.clusterCidrs) {
        if (cidrContainsAddress(cidr, address)) f.error(KEY, address, `lies inside the cluster network ${cidr}`, "use an address of the node network or of your load balancer");
    }
    if (otherFamily && fam !== c.primaryFamily) {
        const e = otherFamily(fam, c.primaryFamily);
        f.error(KEY, address, e.rule, e.fix);
    }
    return f;
}

/** The address inside a URL, brackets or host:port, for the fix text (`[fd00::1]:6443` -> `fd00::1`, not `fd00:`). */
function bareHint(address: string): string {
    const noScheme = address.replace(/^[a-z]+:\/\//i, "");
    const bracketed = /^\[(.*)\](:\d+)?$/.exec(noScheme);
    if (bracketed) return bracketed[1];
    // Only a name or IPv4 address with one colon has a port to strip; a bare IPv6 literal has several.
    return noScheme.split(":").length === 2 ? noScheme.replace(/:\d+$/, "") : noScheme;
}

export interface ApiEndpoint {
    host: string;
    port: number;
    /** Kubeconfig server, and where agents/workers join. */
    url: string;
    /** With a registration address: where further servers join (the first control plane). Otherwise `url`. */
    bootstrapUrl?: string;
    sans: string[];
    registrationAddress?: string;
}

/**
 * The API endpoint of the plan: the first control plane's address, or the registration address
 * when one is set (then also in the SANs).
 */
export function apiEndpoint(firstHost: string, port: number, controlPlaneSans: string[], registrationAddress?: string): ApiEndpoint {
    const reg = registrationAddress === undefined ? undefined : familyOfAddress(registrationAddress) ? canonicalAddress(registrationAddress) : registrationAddress;
    const host = reg ?? firstHost;
    return {
        host,
        port,
        url: httpsUrl(host, port),
        sans: [...new Set([...controlPlaneSans, ...(reg ? [reg] : [])])].sort(byCodePoint),
        ...(reg ? { bootstrapUrl: httpsUrl(firstHost, port), registrationAddress: reg } : {}),
    };
}
