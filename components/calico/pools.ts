// The Calico IP pools the plan expects, per family: the one source for the pools' CIDR, block
// size, encapsulation and NAT. The Installation (installation.ts), k0s' calico-node env vars
// (k0s/k0sconfig.ts), the dual-stack check (check/checks/ipv6-pool.ts) and the test doubles read
// them from here, so no two of them can decide NAT or block sizes differently.
import type { Family } from "../net";
import type { Plan } from "../plan";

export type Encapsulation = "IPIP" | "IPIPCrossSubnet" | "VXLAN" | "VXLANCrossSubnet" | "None";

/**
 * Pool names the operator itself gives a dual-stack pair (pkg/controller/ippool/defaults.go), set
 * explicitly so the IPPool objects have known names for the check and for humans.
 */
export const POOL_NAMES: Record<Family, string> = { IPv4: "default-ipv4-ippool", IPv6: "default-ipv6-ippool" };

export interface ExpectedPool {
    family: Family;
    name: string;
    cidr: string;
    blockSize: number;
    encapsulation: Encapsulation;
    natOutgoing: boolean;
}

export function expectedPool(plan: Plan, family: Family): ExpectedPool {
    const v4 = family === "IPv4";
    return {
        family,
        name: POOL_NAMES[family],
        // By construction the pools are the cluster's pod CIDRs: there is no separate pool setting
        // that could disagree with the cluster-cidr k3s/k0s hand to kube-controller-manager.
        cidr: v4 ? plan.podCidrs.ipv4 : plan.podCidrs.ipv6,
        blockSize: v4 ? plan.calico.blockSizes.ipv4 : plan.calico.blockSizes.ipv6,
        encapsulation: (v4 ? plan.calico.encapsulation.ipv4 : plan.calico.encapsulation.ipv6) as Encapsulation,
        // IPv4 pod addresses are private; IPv6 pod addresses are usually ULA. Either way they need
        // SNAT to reach anything outside the cluster unless the user routes the pod prefix, which
        // dualstack:calico.ipv6NatOutgoing: false says for IPv6.
        natOutgoing: v4 || plan.calico.ipv6NatOutgoing,
    };
}

/** Both pools, the cluster's primary family first (the order k3s/k0s list the pod CIDRs in). */
export function expectedPools(plan: Plan): ExpectedPool[] {
    return plan.families.map((f) => expectedPool(plan, f));
}
