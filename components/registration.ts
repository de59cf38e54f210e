// dualstack:cluster.registrationAddress: a DNS name or an address of either family in front of
// the control planes (a VIP or load balancer; k3s' HA docs call it the "fixed registration
// address"). It is added to the API server certificate's SANs on every server/controller, it is
// the address agents and workers join, and the server of the exported kubeconfig. Joining
// servers still join through the first server, which is up before any other (k3s HA docs join
// servers through an existing server; a load balancer may not have a healthy backend yet).
//
// k0s: `spec.api.externalAddress` (+ `sans`). k0s' API endpoint reconciler resolves that address
// and writes every result into the `default/kubernetes` Endpoints (k0s
// pkg/component/controller/apiendpointreconciler.go, b9926fba), whatever its family. That
// Service has the cluster's primary family, so an address of the other family breaks in-cluster
// access to the API: the dual-stack externalAddress bug users report (k0s#5841, open). An
// address of the other family is refused; a DNS name is accepted with a warning that it must
// resolve to primary-family addresses only. Pure.
import { findings, Findings } from "./findings";
import { canonicalAddress, cidrContainsAddress, Family, familyOfAddress, httpsUrl } from "./net";
import { byCodePoint } from "./order";

const KEY = "dualstack:cluster.registrationAddress";
const DNS_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?$/;
/** Addresses no client can reach a load balancer at (loopback, link-local, multicast, unspecified). */
const UNUSABLE = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "::/128", "::1/128", "fe80::/10", "ff00::/8"];

export interface RegistrationContext {
    distribution: "k3s" | "k0s";
    primaryFamily: Family;
    /** Pod and service CIDRs of both families (a VIP inside them would be routed into the cluster). */
    clusterCidrs: string[];
}

export function registrationFindings(address: string | undefined, c: RegistrationContext): Findings {
    const f = findings();
    if (address === undefined) return f;
    const fam = familyOfAddress(address);
    if (!fam) {
        if (/^\[.*\]$/.test(address) || /^[a-z]+:\/\//i.test(address) || /:\d+$/.test(address)) {
            f.error(KEY, address, "must be a bare address or DNS name (no brackets, scheme or port; the API port is 6443)", `write e.g. ${address.replace(/^[a-z]+:\/\//i, "").replace(/^\[(.*)\](:\d+)?$/, "$1").replace(/:\d+$/, "")}`);
        } else if (!DNS_NAME.test(address)) {
            f.error(KEY, address, "is neither an IP address nor a DNS name", "give the VIP or load balancer's address or name, e.g. api.example.com or fd45:a71:55a6:1::100");
        } else if (c.distribution === "k0s") {
            f.warn(KEY, address, "k0s writes every address this name resolves to into the `kubernetes` Service's endpoints; one of the other family than the cluster's primary breaks in-cluster API access (k0s#5841)", `let it resolve to ${c.primaryFamily} addresses only, or give the ${c.primaryFamily} address itself`);
        }
        return f;
    }
    if (UNUSABLE.some((cidr) => cidrContainsAddress(cidr, address))) {
        f.error(KEY, address, "is a loopback, link-local, multicast or unspecified address that clients cannot reach", "give the VIP or load balancer's routable address");
    }
    for (const cidr of c.clusterCidrs) {
        if (cidrContainsAddress(cidr, address)) f.error(KEY, address, `lies inside the cluster network ${cidr}`, "use an address of the node network or of your load balancer");
    }
    if (c.distribution === "k0s" && fam !== c.primaryFamily) {
        f.error(KEY, address, `k0s puts spec.api.externalAddress into the endpoints of the ${c.primaryFamily} \`kubernetes\` Service; an ${fam} address there breaks in-cluster API access (k0s#5841)`, `use the ${c.primaryFamily} address of the VIP or load balancer, or a DNS name resolving to it`);
    }
    return f;
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
