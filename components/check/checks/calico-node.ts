// The calico-node check. Its title says what it proves.
import { addressPart, type Context, describePod, firstLine, isReady, items, sameAddress, waitEvidence } from "../evidence";
import type { Entry } from "../report";
import { calicoNamespace } from "../scripts";
import type { Check } from "./check";

export const calicoNode: Check = {
    id: "calico-node",
    title: "calico-node is Ready on every node and detected the planned IPv6 address",
    judge,
};

function judge(ctx: Context, e: Entry): void {
    const { plan } = ctx;
    const ns = calicoNamespace(plan);
    waitEvidence(ctx, e, (w) => w.startsWith("calico-node"));
    if (ctx.apiDown !== undefined) {
        e.skip("not run: the API server did not answer (see the nodes check)");
        return;
    }
    const captured = ctx.doc.calicoPods;
    if (!captured?.json) {
        e.fail(
            `could not list calico-node pods in ${ns} (${firstLine(captured?.error)})`,
            plan.calico.managedBy === "operator" ? "Calico is not installed: the Tigera operator has not rendered calico-node" : "k0s has not deployed Calico (spec.network.provider calico)",
            plan.calico.managedBy === "operator" ? "kubectl get tigerastatus; kubectl -n tigera-operator logs deploy/tigera-operator" : `on ${ctx.first.name}: journalctl -u k0scontroller | grep -i calico`,
        );
        return;
    }
    const pods = items(captured);
    const detect = plan.autodetection.ipv6Method;
    for (const n of ctx.nodes) {
        const pod = pods.find((p) => p.spec?.nodeName === n.name);
        const node = ctx.nodeByName.get(n.name);
        const v6 = node?.metadata?.annotations?.["projectcalico.org/IPv6Address"];
        const v4 = node?.metadata?.annotations?.["projectcalico.org/IPv4Address"];
        const restartPod = pod?.metadata?.name ? `kubectl -n ${ns} delete pod ${pod.metadata.name}` : `kubectl -n ${ns} delete pod -l k8s-app=calico-node --field-selector spec.nodeName=${n.name}`;
        e.see(
            `${n.name}: ${pod ? `${pod.metadata?.name} ${isReady(pod.status?.conditions) ? "Ready" : `not Ready (${describePod(pod)})`}` : "no calico-node pod"}, ` +
                `IPv4Address ${v4 ?? "none"}, IPv6Address ${v6 ?? "none"}`,
        );
        if (!pod) {
            e.fail(`no calico-node pod runs on ${n.name}`, "the calico-node DaemonSet has not been scheduled onto it", `kubectl -n ${ns} describe daemonset calico-node`);
            continue;
        }
        if (v6 === undefined) {
            const hostCause = plan.hostPrep.enabled
                ? `the planned address ${n.ipv6Cidr} is not on ${n.interface} of ${n.name} (or was still tentative when calico-node started), or IPv6 autodetection is not requested (${
                      plan.calico.managedBy === "operator"
                          ? "the Installation needs calicoNetwork.nodeAddressAutodetectionV6; without it the operator sets IP6=none"
                          : `k0s needs spec.network.calico.ipV6AutodetectionMethod ${detect}; otherwise it copies the IPv4 method`
                  })`
                : `the host has no global IPv6 address inside ${plan.autodetection.ipv6Cidrs.join(", ")} (Calico never picks a link-local fe80::/10 address), and host preparation is off`;
            const hostFix = plan.hostPrep.enabled
                ? `on ${n.name}: ip -6 addr show dev ${n.interface} must list ${n.ipv6Cidr}; then ${restartPod} to detect again`
                : `enable host preparation (dualstack:hostPrep.enabled: true) or add ${n.ipv6Cidr} to ${n.interface} on ${n.name} yourself; then ${restartPod}`;
            e.fail(`calico-node on ${n.name} detected no IPv6 address (the Node has no projectcalico.org/IPv6Address annotation)`, hostCause, hostFix);
            continue;
        }
        if (!sameAddress(addressPart(v6), n.ipv6)) {
            e.fail(
                `calico-node on ${n.name} detected ${v6}, planned ${n.ipv6Cidr}`,
                `autodetection (${detect}) found another global address inside the node prefix`,
                `remove the other address from ${n.name} or narrow dualstack:network.nodeIpv6Prefix; then ${restartPod}`,
            );
            continue;
        }
        if (!isReady(pod.status?.conditions)) {
            e.fail(
                `calico-node on ${n.name} is not Ready (${describePod(pod)})`,
                plan.calico.bgp === "Enabled"
                    ? "its readiness probe (Felix and BIRD) fails; BIRD needs BGP sessions (TCP 179) to the other nodes' addresses"
                    : "its readiness probe (Felix) fails",
                `kubectl -n ${ns} logs ${pod.metadata?.name ?? "<calico-node pod>"} -c calico-node`,
            );
        }
    }
}
