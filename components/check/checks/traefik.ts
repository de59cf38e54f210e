// The traefik check. Its title says what it proves.
import type { Family } from "../../net";
import { expectedService } from "../../traefik/values";
import { arr, canon, type Context, famOf, firstLine, items, sameAddress, waitEvidence } from "../evidence";
import type { Entry } from "../report";
import { NAME_LABEL, TRAEFIK_APP } from "../scripts";
import type { Check } from "./check";

export const traefik: Check = {
    id: "traefik",
    title: "The Traefik Service is RequireDualStack with two clusterIPs and, when exposed, addresses of both families",
    judge,
};

function sameSet(a: string[], b: string[]): boolean {
    const ca = a.filter((x) => famOf(x)).map(canon).sort();
    const cb = b.map(canon).sort();
    return ca.length === cb.length && ca.every((x, i) => x === cb[i]);
}

function judge(ctx: Context, e: Entry): void {
    const { plan } = ctx;
    const want = expectedService(plan);
    waitEvidence(ctx, e, (w) => w.startsWith("Traefik"));
    if (ctx.apiDown !== undefined) {
        e.skip("not run: the API server did not answer (see the nodes check)");
        return;
    }
    const captured = ctx.doc.traefikServices;
    if (!captured?.json) {
        e.fail(`could not list Services in namespace ${want.namespace} (${firstLine(captured?.error)})`, "kubectl failed", `kubectl -n ${want.namespace} get services`);
        return;
    }
    const all = items(captured);
    const svc = all.find((s) => s.metadata?.name === want.name);
    if (!svc) {
        e.see(`Services labelled ${NAME_LABEL}=${TRAEFIK_APP} in ${want.namespace}: ${all.map((s) => s.metadata?.name).join(", ") || "none"}`);
        e.fail(
            `there is no Traefik Service ${want.namespace}/${want.name}`,
            "the Traefik release is not installed",
            `kubectl -n ${want.namespace} get all; run pulumi up again to install the Traefik chart`,
        );
        return;
    }
    const name = `${want.namespace}/${want.name}`;
    const policy = svc.spec?.ipFamilyPolicy ?? "SingleStack";
    const ips = arr(svc.spec?.clusterIPs);
    const ingress = arr(svc.status?.loadBalancer?.ingress).map((i) => i.ip ?? i.hostname ?? "").filter((x) => x !== "");
    const external = arr(svc.spec?.externalIPs);
    e.see(
        `Service ${name}: type ${svc.spec?.type ?? "ClusterIP"}, ipFamilyPolicy ${policy}, clusterIPs ${ips.join(", ") || "none"}` +
            (ingress.length ? `, load-balancer ${ingress.join(", ")}` : "") +
            (external.length ? `, externalIPs ${external.join(", ")}` : ""),
    );
    const valuesFix = `the chart values need service.spec.ipFamilyPolicy: RequireDualStack, ipFamilies [${want.ipFamilies.join(", ")}] and clusterIPs [${want.clusterIPs.join(", ")}] (the Traefik component sets them; compare helm -n ${want.namespace} get values ${want.name})`;
    if (policy !== "RequireDualStack") {
        e.fail(
            `the Traefik Service ${name} is ${policy} (clusterIPs ${ips.join(", ") || "none"})`,
            "Traefik charts 40 and newer take ipFamilyPolicy under service.spec; the old top-level service.ipFamilyPolicy is accepted and silently ignored",
            valuesFix,
        );
    } else if (!ips.some((ip) => famOf(ip) === "IPv4") || !ips.some((ip) => famOf(ip) === "IPv6")) {
        e.fail(`the Traefik Service ${name} has clusterIPs ${ips.join(", ") || "none"}`, "kube-apiserver allocated one family only", valuesFix);
    } else if (!sameSet(ips, want.clusterIPs)) {
        e.fail(
            `the Traefik Service ${name} has clusterIPs ${ips.join(", ")}, planned ${want.clusterIPs.join(", ")}`,
            "the Service was created before its clusterIPs were pinned, and clusterIPs cannot change in place",
            `kubectl -n ${want.namespace} delete service ${want.name}; then run pulumi up again`,
        );
    }
    const lb = want.loadBalancer;
    if (lb.source !== "none") {
        const missing = (["IPv4", "IPv6"] as Family[]).filter((f) => !ingress.some((ip) => famOf(ip) === f));
        const servicelb = lb.source === "servicelb-nodes";
        if (missing.length > 0) {
            e.fail(
                ingress.length === 0
                    ? `the Traefik Service ${name} has no load-balancer address`
                    : `the Traefik Service ${name} has load-balancer addresses ${ingress.join(", ")}, none of ${missing.join(" or ")}`,
                servicelb
                    ? ingress.length === 0
                        ? "ServiceLB has not published it: its svclb pods are not running"
                        : "ServiceLB publishes each node's ExternalIP, else InternalIP, for every Service family: nodes without an address of that family give none (see the nodes check)"
                    : "MetalLB allocates a dual-stack Service's addresses from one IPAddressPool holding both families",
                servicelb
                    ? `kubectl -n kube-system get pods -l svccontroller.k3s.cattle.io/svcname=${want.name} -o wide`
                    : `dualstack:metallb.addresses must hold an IPv4 and an IPv6 range (now ${plan.metallb.addresses.join(", ") || "none"}); kubectl -n metallb-system get ipaddresspools -o yaml`,
            );
        } else if (lb.source === "metallb-fixed" && !sameSet(ingress, lb.addresses)) {
            e.fail(
                `the Traefik Service ${name} has load-balancer addresses ${ingress.join(", ")}, configured ${lb.addresses.join(", ")}`,
                "MetalLB assigns the annotated addresses only when an IPAddressPool contains them",
                `dualstack:metallb.addresses must contain ${lb.addresses.join(" and ")}`,
            );
        } else if (servicelb) {
            const unpublished = lb.addresses.filter((a) => !ingress.some((ip) => sameAddress(ip, a)));
            if (unpublished.length > 0) e.see(`node addresses ServiceLB did not publish (svclb pod not running there): ${unpublished.join(", ")}`);
        }
    }
    if (want.externalIPs.length > 0 && !sameSet(external, want.externalIPs)) {
        e.fail(
            `the Traefik Service ${name} has externalIPs ${external.join(", ") || "none"}, configured ${want.externalIPs.join(", ")}`,
            "Traefik charts 40 and newer take externalIPs under service.spec; the old top-level service.externalIPs is silently ignored",
            `the chart values need service.spec.externalIPs: [${want.externalIPs.join(", ")}] (dualstack:traefik.externalIPs)`,
        );
    }
    if (lb.source === "none" && want.externalIPs.length === 0) e.see(`dualstack:traefik.loadBalancer is ${plan.traefik.loadBalancer}: no external addresses expected`);
}
