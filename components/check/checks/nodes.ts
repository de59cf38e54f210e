// The nodes check. Its title says what it proves.
import { profileOf } from "../../distributions";
import { type Family, familyOfCidr } from "../../net";
import { arr, cidrInside, condition, type Context, family, famOf, firstLine, sameAddress, serviceUnit, waitEvidence } from "../evidence";
import type { Entry } from "../report";
import type { Check } from "./check";

export const nodes: Check = {
    id: "nodes",
    title: "Every node is Ready with an InternalIP of each family at the planned address and one pod CIDR per family",
    judge,
};

function judge(ctx: Context, e: Entry): void {
    const { plan } = ctx;
    waitEvidence(ctx, e, (w) => w === "the API server" || /^node .* Ready$/.test(w));
    if (ctx.apiDown !== undefined) {
        const unit = serviceUnit(plan, ctx.first);
        const missing = /not found|No such file/i.test(ctx.apiDown);
        e.fail(
            `${ctx.kubectl} on ${ctx.first.name} could not list the nodes (${firstLine(ctx.apiDown)})`,
            missing ? `${ctx.kubectl.split(" ")[0]} is not installed on ${ctx.first.name}` : `the API server is not answering: the ${unit} service on ${ctx.first.name} is stopped or still starting`,
            `on ${ctx.first.name}: systemctl status ${unit}; journalctl -u ${unit} -n 100`,
        );
        return;
    }
    const planned = new Set(ctx.nodes.map((n) => n.name));
    const extra = [...ctx.nodeByName.keys()].filter((n) => !planned.has(n));
    if (extra.length > 0) e.see(`nodes not in the plan (not judged): ${extra.join(", ")}`);
    for (const n of ctx.nodes) {
        const node = ctx.nodeByName.get(n.name);
        const unit = serviceUnit(plan, n);
        if (!node) {
            e.see(`${n.name}: not registered`);
            e.fail(`node ${n.name} is not registered in the cluster`, `its ${unit} service did not join`, `on ${n.name}: systemctl status ${unit}; journalctl -u ${unit} -n 100`);
            continue;
        }
        const ready = condition(node.status?.conditions, "Ready");
        const internal = arr(node.status?.addresses).filter((a) => a.type === "InternalIP" && a.address);
        const byFam = (fam: Family) => internal.filter((a) => famOf(a.address) === fam).map((a) => a.address as string);
        const cidrs = arr(node.spec?.podCIDRs).length > 0 ? arr(node.spec?.podCIDRs) : node.spec?.podCIDR ? [node.spec.podCIDR] : [];
        e.see(
            `${n.name}: ${ready?.status === "True" ? "Ready" : `not Ready (${ready?.reason ?? "no Ready condition"})`}, ` +
                `InternalIP ${internal.map((a) => a.address).join(", ") || "none"}, podCIDRs ${cidrs.join(", ") || "none"}`,
        );
        if (ready?.status !== "True") {
            const why = `${ready?.reason ?? "no Ready condition"}${ready?.message ? `: ${ready.message}` : ""}`;
            const cni = /cni|network plugin|network is not ready|NetworkPluginNotReady/i.test(why);
            e.fail(
                `node ${n.name} is not Ready (${why})`,
                cni ? "its pod network is not up: calico-node is not running on it (see the calico-node check)" : "the kubelet reports it unhealthy",
                `kubectl describe node ${n.name}; on ${n.name}: journalctl -u ${unit} -n 100`,
            );
        }
        for (const fam of ["IPv4", "IPv6"] as Family[]) {
            const want = family(plan, fam).node(n);
            const got = byFam(fam);
            const restart = `${profileOf(plan).nodeIpSetting(n)}, and ${want} must be on ${n.interface} before ${unit} starts; then systemctl restart ${unit}`;
            if (got.length === 0) {
                e.fail(
                    `node ${n.name} has no ${fam} InternalIP (addresses: ${arr(node.status?.addresses).map((a) => `${a.type} ${a.address}`).join(", ") || "none"})`,
                    "the kubelet registered a single-family node-ip; without both addresses in node-ip Kubernetes reports one address of one family",
                    restart,
                );
            } else if (!got.some((a) => sameAddress(a, want))) {
                e.fail(`node ${n.name} has ${fam} InternalIP ${got.join(", ")}, planned ${want}`, "the kubelet registered another address than the planned node-ip", restart);
            }
        }
        const v4 = cidrs.filter((c) => familyOfCidr(c) === "IPv4");
        const v6 = cidrs.filter((c) => familyOfCidr(c) === "IPv6");
        const rebuild = `cluster-cidr must list ${plan.podCidrs.ordered.join(",")} from the cluster's first start (dualstack:network.podCidrs); rebuild the cluster: pulumi destroy, then pulumi up`;
        if (cidrs.length === 0) {
            e.fail(
                `node ${n.name} has no podCIDRs`,
                `kube-controller-manager has not allocated pod CIDRs to it (the pod CIDRs have room for ${plan.capacity.nodeSubnets.ipv4} (IPv4) / ${plan.capacity.nodeSubnets.ipv6} (IPv6) nodes)`,
                `look for "CIDR allocation failed" in the control plane's log (journalctl -u ${serviceUnit(plan, ctx.first)} on ${ctx.first.name})`,
            );
        } else if (v4.length === 0 || v6.length === 0) {
            e.fail(
                `node ${n.name} has only the ${v4.length ? "IPv4" : "IPv6"} pod CIDR ${cidrs.join(", ")}`,
                "kube-controller-manager runs with a single-family cluster-cidr: the cluster was created single-stack, and dual-stack can only be set when a cluster is first created",
                rebuild,
            );
        } else {
            for (const [c, planCidr] of [[v4[0], plan.podCidrs.ipv4], [v6[0], plan.podCidrs.ipv6]]) {
                if (!cidrInside(planCidr, c)) {
                    e.fail(`node ${n.name} has pod CIDR ${c}, outside the planned ${planCidr}`, "the cluster was created with another cluster-cidr", rebuild);
                }
            }
        }
    }
}
