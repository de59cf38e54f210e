// The service check. Its title says what it proves.
import { cidrContainsAddress, type Family, hostPort } from "../../net";
import { applyError, arr, canon, type Context, famOf, firstLine, isReady, lastLines, probeError, sameAddress, serviceUnit } from "../evidence";
import type { Entry } from "../report";
import { CHECK_NAMESPACE, PROBE_DNS_NAME, PROBE_SERVICE_PORT } from "../scripts";
import type { Check } from "./check";

export const service: Check = {
    id: "service",
    title: "A RequireDualStack ClusterIP Service gets two clusterIPs, answers on both, and cluster DNS returns its AAAA record",
    judge,
};

/** AAAA answers of busybox nslookup: IPv6 addresses after the `Name:` line (before it: the server). */
export function aaaaAnswers(output: string): string[] {
    const lines = output.split("\n");
    const start = lines.findIndex((l) => /^Name:/.test(l.trim()));
    if (start < 0) return [];
    const out: string[] = [];
    for (const l of lines.slice(start)) {
        const m = /^Address(?:\s+\d+)?:\s*(\S+)/.exec(l.trim());
        if (m && famOf(m[1]) === "IPv6") out.push(canon(m[1]));
    }
    return out;
}

function judge(ctx: Context, e: Entry): void {
    const { plan } = ctx;
    if (ctx.apiDown !== undefined) {
        e.skip("not run: the API server did not answer (see the nodes check)");
        return;
    }
    const rebuild = `service-cidr must list ${plan.serviceCidrs.ordered.join(",")} from the cluster's first start (dualstack:network.serviceCidrs); rebuild the cluster: pulumi destroy, then pulumi up`;
    const refused = applyError(ctx, "probe Service");
    if (refused !== undefined) {
        const single = /not configured for dual-stack|not configured on this cluster/i.test(refused);
        e.fail(
            `the RequireDualStack probe Service was refused (${firstLine(refused)})`,
            single ? "kube-apiserver runs with a single service-cluster-ip-range: the cluster was created single-stack" : "the API server refused the probe Service",
            single ? rebuild : `kubectl -n ${CHECK_NAMESPACE} apply -f cluster/check/probe-service.yaml (from npm run render) to see the full error`,
        );
        return;
    }
    const svc = ctx.doc.probeService?.json;
    if (!svc) {
        if (applyError(ctx, "namespace") !== undefined) e.skip("not run: the probe namespace could not be created (see the probe-pods check)");
        else e.fail(`the probe Service is missing (${firstLine(ctx.doc.probeService?.error)})`, "it was not created", `kubectl -n ${CHECK_NAMESPACE} get events`);
        return;
    }
    const ips = arr(svc.spec?.clusterIPs);
    e.see(`Service ${CHECK_NAMESPACE}/${svc.metadata?.name}: ipFamilyPolicy ${svc.spec?.ipFamilyPolicy ?? "SingleStack"}, ipFamilies ${arr(svc.spec?.ipFamilies).join(", ")}, clusterIPs ${ips.join(", ") || "none"}`);
    const byFam = (fam: Family) => ips.find((ip) => famOf(ip) === fam);
    if (!byFam("IPv4") || !byFam("IPv6")) {
        e.fail(
            `the probe Service got clusterIPs ${ips.join(", ") || "none"} (ipFamilyPolicy ${svc.spec?.ipFamilyPolicy ?? "SingleStack"})`,
            "kube-apiserver allocated one family only: it runs with a single service-cluster-ip-range",
            rebuild,
        );
    }
    for (const fam of ["IPv4", "IPv6"] as Family[]) {
        const ip = byFam(fam);
        const planned = fam === "IPv4" ? plan.serviceCidrs.ipv4 : plan.serviceCidrs.ipv6;
        if (ip && !cidrContainsAddress(planned, ip)) {
            e.fail(`the probe Service's ${fam} clusterIP ${ip} is outside the planned ${planned}`, "the cluster was created with another service-cidr", rebuild);
        }
    }
    const client = ctx.clientNode;
    const clientReady = client !== undefined && isReady(ctx.probeByNode.get(client.name)?.status?.conditions);
    if (!clientReady) {
        e.see(`not probed: the probe pod on ${client?.name ?? "the first node"} is not Ready (see the probe-pods check)`);
        return;
    }
    const results = arr(ctx.doc.probes?.service);
    for (const ip of ips) {
        const r = results.find((x) => sameAddress(x.target, ip));
        const url = hostPort(ip, PROBE_SERVICE_PORT);
        if (!r) {
            e.see(`${url}: not probed`);
            continue;
        }
        const out = r.result.output.trim();
        e.see(`${url} from the probe on ${client.name}: ${r.result.rc === 0 ? `answered "${out}"` : `failed (${lastLines(out, 2)})`}`);
        if (r.result.rc !== 0) {
            const v6 = famOf(ip) === "IPv6";
            e.fail(
                `the probe Service does not answer on ${url} from the probe on ${client.name} (${probeError(r.result)})`,
                v6
                    ? `kube-proxy does not serve its IPv6 clusterIP: it needs the IPv6 cluster-cidr and ip6tables NAT (ip6table_nat) on ${client.name}`
                    : `kube-proxy does not serve its IPv4 clusterIP on ${client.name}`,
                `on ${client.name}: lsmod | grep ip6table_nat; look for proxier errors in journalctl -u ${serviceUnit(plan, client)}`,
            );
        }
    }
    const dns = ctx.doc.probes?.dns;
    const v6ip = byFam("IPv6");
    if (!dns) {
        e.see(`DNS: not probed`);
        return;
    }
    const answers = aaaaAnswers(dns.result.output);
    e.see(`DNS AAAA ${dns.name} from the probe on ${client.name}: ${answers.join(", ") || `no answer (${lastLines(dns.result.output, 2)})`}`);
    if (answers.length === 0) {
        e.fail(
            `cluster DNS returned no AAAA record for ${PROBE_DNS_NAME} (${probeError(dns.result)})`,
            v6ip
                ? `CoreDNS did not answer with the Service's IPv6 clusterIP ${v6ip} (is CoreDNS running and reachable at ${plan.clusterDns.ordered[0]}?)`
                : "CoreDNS answers AAAA for a Service only when the Service has an IPv6 clusterIP",
            v6ip ? "kubectl -n kube-system get pods -l k8s-app=kube-dns; kubectl -n kube-system logs -l k8s-app=kube-dns" : rebuild,
        );
    } else if (v6ip && !answers.includes(canon(v6ip))) {
        e.fail(`cluster DNS answered ${answers.join(", ")} for ${PROBE_DNS_NAME}, but the Service's IPv6 clusterIP is ${v6ip}`, "CoreDNS serves a stale record", "kubectl -n kube-system rollout restart deployment coredns");
    }
}
