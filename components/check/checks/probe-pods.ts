// The probe-pods check. Its title says what it proves.
import { cidrContainsAddress, type Family } from "../../net";
import { applyError, arr, type Context, describePod, family, famOf, firstLine, isReady, lastLines, podWarnings, probeError, waitEvidence, waitingReason } from "../evidence";
import { CHECK_NAMESPACE, podToPodPairs, PROBE_PORT, probePodName } from "../scripts";
import type { Entry } from "../report";
import type { Check } from "./check";

export const probePods: Check = {
    id: "probe-pods",
    title: "A probe pod on every node gets an IPv4 and an IPv6 address, and pods reach each other over IPv6 across nodes",
    judge,
};

function judge(ctx: Context, e: Entry): void {
    const { plan } = ctx;
    waitEvidence(ctx, e, (w) => w === "probe pods Ready" || w.startsWith("the default ServiceAccount"));
    if (ctx.apiDown !== undefined) {
        e.skip("not run: the API server did not answer (see the nodes check)");
        return;
    }
    const refused = applyError(ctx, "namespace") ?? applyError(ctx, "probe pods");
    if (refused !== undefined) {
        e.fail(
            `the probe pods could not be created in namespace ${CHECK_NAMESPACE} (${firstLine(refused)})`,
            /forbidden|denied|violates/i.test(refused) ? "an admission policy refused them" : "the API server refused the probe objects",
            "allow busybox pods in that namespace, or point dualstack:checks.probeImage at an allowed image",
        );
        return;
    }
    if (ctx.nodes.length === 0) {
        e.skip("the plan has no node that runs pods (k0s controllers without dualstack:cluster.controllersRunWorkloads)");
        return;
    }
    const operator = plan.calico.managedBy === "operator";
    for (const n of ctx.nodes) {
        const pod = ctx.probeByNode.get(n.name);
        const name = probePodName(n.name);
        if (!pod) {
            e.see(`${n.name}: no probe pod`);
            e.fail(`there is no probe pod on ${n.name}`, "it was not created or was evicted", `kubectl -n ${CHECK_NAMESPACE} get events`);
            continue;
        }
        const ips = arr(pod.status?.podIPs).map((p) => p.ip ?? "").filter((ip) => ip !== "");
        e.see(`${n.name}: ${name} ${isReady(pod.status?.conditions) ? "Ready" : `not Ready (${describePod(pod)})`}, podIPs ${ips.join(", ") || "none"}`);
        if (!isReady(pod.status?.conditions)) {
            const warning = podWarnings(ctx, name);
            const reason = waitingReason(pod);
            if (/ErrImagePull|ImagePullBackOff|InvalidImageName/.test(reason)) {
                e.fail(
                    `the probe pod on ${n.name} is not Ready (${describePod(pod)})`,
                    `${n.name} cannot pull ${plan.checks.probeImage}`,
                    `set dualstack:checks.probeImage to an image ${n.name} can pull (on air-gapped hosts, import it into containerd first)`,
                );
            } else {
                e.fail(
                    `the probe pod on ${n.name} is not Ready (${describePod(pod)}${warning ? `; ${warning}` : ""})`,
                    /sandbox|cni|network/i.test(warning + reason) ? `the CNI (Calico) could not set up its network on ${n.name}` : `it did not start on ${n.name}`,
                    `kubectl -n ${CHECK_NAMESPACE} describe pod ${name} while the check runs; see the calico-node check`,
                );
            }
            continue;
        }
        for (const fam of ["IPv4", "IPv6"] as Family[]) {
            const mine = ips.filter((ip) => famOf(ip) === fam);
            const planned = family(plan, fam).cidr;
            if (mine.length === 0) {
                e.fail(
                    `the probe pod on ${n.name} got only ${ips.join(", ") || "no address"} (no ${fam} address)`,
                    `Calico IPAM assigns ${fam} addresses only with assign_${fam.toLowerCase()} in the CNI config and a ${fam} pool for the node (${operator ? "the operator writes both from the Installation's pools" : "k0s writes both with dual-stack enabled"})`,
                    `on ${n.name}: grep assign_ /etc/cni/net.d/10-calico.conflist; kubectl get ippools.crd.projectcalico.org`,
                );
            } else if (!mine.some((ip) => cidrContainsAddress(planned, ip))) {
                e.fail(`the probe pod on ${n.name} got ${fam} ${mine.join(", ")}, outside the planned ${planned}`, `Calico assigned it from another ${fam} pool`, `remove the IPPools that are not ${planned} (see the IPv6 pool check)`);
            }
        }
    }
    const pairs = podToPodPairs(plan);
    if (pairs.length === 0) {
        e.see("one node only: pod-to-pod IPv6 across nodes does not apply");
        return;
    }
    const results = arr(ctx.doc.probes?.podToPod);
    const byName = new Map(plan.nodes.map((n) => [n.name, n]));
    for (const [from, to] of pairs) {
        const r = results.find((x) => x.from === from && x.to === to);
        const a = byName.get(from)!;
        const b = byName.get(to)!;
        if (!isReady(ctx.probeByNode.get(from)?.status?.conditions) || !r || r.target === null || !r.result) {
            e.see(`pod-to-pod IPv6 ${from} -> ${to}: not probed (a probe pod is not Ready or has no IPv6 address)`);
            continue;
        }
        const out = r.result.output.trim();
        e.see(`pod-to-pod IPv6 ${from} -> ${to} [${r.target}]:${PROBE_PORT}: ${r.result.rc === 0 ? `answered "${out}"` : `failed (${lastLines(out, 2)})`} after ${r.result.tries} attempt(s)`);
        const vxlan = plan.calico.encapsulation.ipv6.startsWith("VXLAN");
        if (r.result.rc !== 0) {
            e.fail(
                `the probe on ${from} cannot reach the probe on ${to} over IPv6 ([${r.target}]:${PROBE_PORT}: ${probeError(r.result)})`,
                vxlan
                    ? `IPv6 pod traffic is VXLAN-encapsulated between ${a.ipv6} and ${b.ipv6}: UDP 4789 must pass between them and the kernels must be 4.19.1 or newer`
                    : `IPv6 pod routes are exchanged over BGP and forwarded unencapsulated: ${from} and ${to} must reach each other's node addresses ${a.ipv6} and ${b.ipv6} directly, with IPv6 forwarding on`,
                `on ${from}: ping -6 -c 3 ${b.ipv6}; ip -6 route (must list ${to}'s pod block); sysctl net.ipv6.conf.all.forwarding (must be 1)`,
            );
        } else if (out !== to) {
            e.fail(`the probe on ${from} asked [${r.target}] and got "${out}" instead of ${to}`, "that address belongs to another pod", `kubectl -n ${CHECK_NAMESPACE} get pods -o wide`);
        }
    }
}
