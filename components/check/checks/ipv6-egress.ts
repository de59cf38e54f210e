// The ipv6-egress check. Its title says what it proves.
import { expectedPool } from "../../calico/pools";
import { type Context, isReady, lastLines, probeError } from "../evidence";
import type { Entry } from "../report";
import type { Check } from "./check";

export const ipv6Egress: Check = {
    id: "ipv6-egress",
    title: "A pod reaches the configured IPv6 egress target (NAT outgoing)",
    judge,
};

function judge(ctx: Context, e: Entry): void {
    const { plan } = ctx;
    const target = plan.checks.egressTarget;
    if (target === undefined) {
        e.skip("dualstack:checks.egressTarget is not set");
        return;
    }
    if (ctx.apiDown !== undefined) {
        e.skip("not run: the API server did not answer (see the nodes check)");
        return;
    }
    const egress = ctx.doc.probes?.egress;
    const client = ctx.clientNode;
    if (!egress || !client || !isReady(ctx.probeByNode.get(client.name)?.status?.conditions)) {
        e.skip(`not run: the probe pod on ${client?.name ?? "the first node"} is not Ready (see the probe-pods check)`);
        return;
    }
    const out = egress.result.output.trim();
    const nat = expectedPool(plan, "IPv6").natOutgoing;
    e.see(`ping -6 ${target} from the probe on ${client.name}: ${egress.result.rc === 0 ? lastLines(out, 2) : `failed (${lastLines(out, 2)})`}`);
    if (egress.result.rc !== 0) {
        e.fail(
            `the probe on ${client.name} cannot reach ${target} over IPv6 (${probeError(egress.result)})`,
            nat
                ? `${client.name} has no IPv6 route to ${target} (Calico requires a default IPv6 route on every host), or ${target} does not answer ping`
                : `IPv6 NAT outgoing is off (dualstack:calico.ipv6NatOutgoing: false): replies to pod addresses in ${plan.podCidrs.ipv6} have no route back`,
            nat ? `on ${client.name}: ping -6 -c 3 ${target}; ip -6 route show default` : "set dualstack:calico.ipv6NatOutgoing: true, or route the pod CIDR to the cluster",
        );
    }
}
