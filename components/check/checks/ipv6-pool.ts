// The ipv6-pool check. Its title says what it proves.
import { expectedPool } from "../../calico/pools";
import { familyOfCidr } from "../../net";
import { cidrInside, type Context, firstLine, items } from "../evidence";
import type { Entry } from "../report";
import type { Check } from "./check";

export const ipv6Pool: Check = {
    id: "ipv6-pool",
    title: "The IPv6 IPPool exists with NAT outgoing as configured",
    judge,
};

function judge(ctx: Context, e: Entry): void {
    const { plan } = ctx;
    if (ctx.apiDown !== undefined) {
        e.skip("not run: the API server did not answer (see the nodes check)");
        return;
    }
    const operator = plan.calico.managedBy === "operator";
    const captured = ctx.doc.ipPools;
    if (!captured?.json) {
        e.fail(
            `could not list ippools.crd.projectcalico.org (${firstLine(captured?.error)})`,
            "the Calico CRDs are not installed",
            operator ? "install the crd.projectcalico.org.v1 chart before the operator (Calico 3.32 no longer bundles CRDs)" : "check that k0s deployed Calico (spec.network.provider calico)",
        );
        return;
    }
    const pools = items(captured);
    for (const p of pools) {
        const s = p.spec ?? {};
        e.see(
            `${p.metadata?.name}: ${s.cidr}, natOutgoing ${s.natOutgoing === true}, ipipMode ${s.ipipMode ?? "Never"}, vxlanMode ${s.vxlanMode ?? "Never"}, blockSize ${s.blockSize ?? "default"}${s.disabled ? ", disabled" : ""}`,
        );
    }
    const v6pools = pools.filter((p) => familyOfCidr(p.spec?.cidr ?? "") === "IPv6");
    const expected = expectedPool(plan, "IPv6");
    const planned = expected.cidr;
    const pool = v6pools.find((p) => p.spec?.cidr !== undefined && cidrInside(planned, p.spec.cidr) && cidrInside(p.spec.cidr, planned));
    if (v6pools.length === 0) {
        e.fail(
            `there is no IPv6 IPPool (pools: ${pools.map((p) => `${p.metadata?.name} ${p.spec?.cidr}`).join(", ") || "none"})`,
            operator ? "the Installation lists no IPv6 pool in calicoNetwork.ipPools" : "k0s creates the IPv6 pool from CALICO_IPV6POOL_CIDR only with spec.network.dualStack.enabled",
            operator ? `the Installation must carry a pool for ${planned}: kubectl get installation default -o jsonpath='{.spec.calicoNetwork.ipPools}'` : `check spec.network.dualStack in /etc/k0s/k0s.yaml on ${ctx.first.name}`,
        );
        return;
    }
    if (!pool) {
        e.fail(
            `the IPv6 IPPool ${v6pools.map((p) => `${p.metadata?.name} has cidr ${p.spec?.cidr}`).join(", ")}, planned ${planned}`,
            "Calico creates its pools only once; a pool from an earlier install (or Calico's random ULA /48 default) remains",
            "delete the stale pool once no pod uses it (kubectl delete ippools.crd.projectcalico.org <name>) or rebuild the cluster",
        );
        return;
    }
    const name = pool.metadata?.name ?? "(unnamed)";
    if (pool.spec?.disabled) {
        e.fail(`the IPv6 IPPool ${name} is disabled`, "spec.disabled is true, so no pod gets an address from it", `kubectl patch ippools.crd.projectcalico.org ${name} --type merge -p '{"spec":{"disabled":false}}'`);
    }
    const want = expected.natOutgoing;
    const got = pool.spec?.natOutgoing === true;
    if (got !== want) {
        e.fail(
            `the IPv6 IPPool ${name} has natOutgoing ${got}, configured ${want} (dualstack:calico.ipv6NatOutgoing)`,
            operator
                ? "the Tigera operator reconciles the pool from the Installation and defaults natOutgoing to Disabled on IPv6 pools"
                : "k0s sets CALICO_IPV6POOL_NAT_OUTGOING=true, and calico-node applies it only when it first creates the pool",
            operator
                ? `the Installation's IPv6 pool must say natOutgoing: ${want ? "Enabled" : "Disabled"}: kubectl get installation default -o jsonpath='{.spec.calicoNetwork.ipPools}'`
                : `kubectl patch ippools.crd.projectcalico.org ${name} --type merge -p '{"spec":{"natOutgoing":${want}}}'`,
        );
    }
}
