// Judges the collector's evidence (scripts.ts) against the plan. Pure: the same document and plan
// always give the same report. Every failure names the check, the evidence, the most likely
// cause and the fix, so `pulumi up` can fail with a message a user can act on.
// Object shapes: Kubernetes core/v1 Node, Pod, Service, Event and Calico's
// crd.projectcalico.org/v1 IPPool, read defensively (a field may be missing on a broken cluster).
import { canonicalAddress, cidrContainsAddress, familyOfAddress, familyOfCidr, Family, hostPort, prefixLength } from "../net";
import type { Plan, PlannedNode } from "../plan";
import {
    calicoNamespace,
    CHECK_NAMESPACE,
    kubeNodes,
    PROBE_DNS_NAME,
    PROBE_PORT,
    PROBE_SERVICE_PORT,
    probePodName,
    podToPodPairs,
    NAME_LABEL,
    TRAEFIK_APP,
} from "./scripts";
import { expectedService } from "../traefik/values";
import { BGP_TITLE, BgpEvidence, checkBgp } from "./bgp";

// ---- Report ----------------------------------------------------------------------------------

export type CheckId = "nodes" | "calico-node" | "ipv6-pool" | "probe-pods" | "service" | "traefik" | "ipv6-egress" | "bgp";
export type CheckStatus = "passed" | "failed" | "skipped";

export interface Finding {
    /** What was observed, naming the node/object, e.g. "calico-node on cp1 detected no IPv6 address". */
    message: string;
    /** The most likely cause. */
    cause: string;
    fix: string;
}

export interface CheckEntry {
    id: CheckId;
    title: string;
    status: CheckStatus;
    /** What the check looked at, one line per node or object, also when it passed. */
    evidence: string[];
    /** Failed: each finding's message and cause. Skipped: why it did not run. */
    cause?: string;
    fix?: string;
    findings?: Finding[];
}

export interface Report {
    result: "passed" | "failed";
    summary: string;
    stack: string;
    /** The node whose kubectl collected the evidence. */
    checkedFrom: string;
    startedAt?: string;
    finishedAt?: string;
    checks: CheckEntry[];
}

export const CHECK_TITLES: Record<CheckId, string> = {
    nodes: "Every node is Ready with an InternalIP of each family at the planned address and one pod CIDR per family",
    "calico-node": "calico-node is Ready on every node and detected the planned IPv6 address",
    "ipv6-pool": "The IPv6 IPPool exists with NAT outgoing as configured",
    "probe-pods": "A probe pod on every node gets an IPv4 and an IPv6 address, and pods reach each other over IPv6 across nodes",
    service: "A RequireDualStack ClusterIP Service gets two clusterIPs, answers on both, and cluster DNS returns its AAAA record",
    traefik: "The Traefik Service is RequireDualStack with two clusterIPs and, when exposed, addresses of both families",
    "ipv6-egress": "A pod reaches the configured IPv6 egress target (NAT outgoing)",
    bgp: BGP_TITLE,
};

// ---- The collector's document ----------------------------------------------------------------

interface Meta {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
}
interface Condition {
    type?: string;
    status?: string;
    reason?: string;
    message?: string;
}
export interface K8sNode {
    metadata?: Meta;
    spec?: { podCIDR?: string; podCIDRs?: string[] };
    status?: { addresses?: { type?: string; address?: string }[]; conditions?: Condition[] };
}
interface ContainerStatus {
    name?: string;
    ready?: boolean;
    restartCount?: number;
    state?: {
        waiting?: { reason?: string; message?: string };
        running?: object;
        terminated?: { reason?: string; exitCode?: number; message?: string };
    };
}
export interface K8sPod {
    metadata?: Meta;
    spec?: { nodeName?: string };
    status?: { phase?: string; conditions?: Condition[]; podIPs?: { ip?: string }[]; containerStatuses?: ContainerStatus[] };
}
export interface K8sService {
    metadata?: Meta;
    spec?: {
        type?: string;
        clusterIPs?: string[];
        ipFamilies?: string[];
        ipFamilyPolicy?: string;
        externalIPs?: string[];
        ports?: { name?: string; port?: number }[];
    };
    status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}
export interface IPPool {
    metadata?: Meta;
    spec?: { cidr?: string; natOutgoing?: boolean; disabled?: boolean; ipipMode?: string; vxlanMode?: string; blockSize?: number };
}
interface K8sEvent {
    involvedObject?: { kind?: string; name?: string };
    type?: string;
    reason?: string;
    message?: string;
}
interface List<T> {
    items?: T[];
}
/** One `kubectl get ... -o json`: its output, or the error kubectl printed. */
export interface Captured<T> {
    json?: T;
    error?: string;
}
export interface ProbeResult {
    rc: number;
    tries: number;
    output: string;
}

export interface CollectorDocument {
    schema: string;
    startedAt?: string;
    finishedAt?: string;
    nodes?: Captured<List<K8sNode>>;
    calicoPods?: Captured<List<K8sPod>>;
    ipPools?: Captured<List<IPPool>>;
    probePods?: Captured<List<K8sPod>>;
    probeService?: Captured<K8sService>;
    probeEvents?: Captured<List<K8sEvent>>;
    traefikServices?: Captured<List<K8sService>>;
    bgpStatus?: BgpEvidence;
    waits?: { what: string; ok: boolean; seconds: number }[];
    applyErrors?: { what: string; error: string }[];
    probes?: {
        podToPod?: { from: string; to: string; target: string | null; result?: ProbeResult }[];
        service?: { target: string; result: ProbeResult }[];
        dns?: { name: string; result: ProbeResult } | null;
        egress?: { target: string; result: ProbeResult } | null;
    };
}

export const DOCUMENT_SCHEMA = "dualstack-check/1";

/** Parses the collector's stdout; a document that is not one is reported with stderr's tail. */
export function parseCollectorOutput(stdout: string, stderr: string): { doc?: CollectorDocument; error?: string } {
    const tail = lastLines(stderr, 5);
    let parsed: unknown;
    try {
        parsed = JSON.parse(stdout);
    } catch (e) {
        const what = stdout.trim() === "" ? "printed nothing" : `printed something that is not JSON (${(e as Error).message})`;
        return { error: `the collector ${what}${tail ? `; its last messages: ${tail}` : ""}` };
    }
    if (parsed === null || typeof parsed !== "object" || (parsed as CollectorDocument).schema !== DOCUMENT_SCHEMA) {
        return { error: `the collector's document is not a ${DOCUMENT_SCHEMA} document` };
    }
    return { doc: parsed as CollectorDocument };
}

// ---- Small helpers ---------------------------------------------------------------------------

function items<T>(c: Captured<List<T>> | undefined): T[] {
    const list = c?.json?.items;
    return Array.isArray(list) ? list : [];
}

function arr<T>(v: T[] | undefined | null): T[] {
    return Array.isArray(v) ? v : [];
}

function lastLines(text: string | undefined, n: number): string {
    return (text ?? "")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "")
        .slice(-n)
        .join(" | ");
}

/** What a failed probe said: its last line, not kubectl's "command terminated with exit code N". */
function probeError(result: ProbeResult): string {
    const lines = result.output
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !/^command terminated with exit code \d+$/.test(l));
    return lines.at(-1) ?? `exit ${result.rc}`;
}

function firstLine(text: string | undefined): string {
    return (text ?? "").split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "(no output)";
}

function famOf(address: string | undefined): Family | undefined {
    return address ? familyOfAddress(address) : undefined;
}

function canon(address: string): string {
    return famOf(address) ? canonicalAddress(address) : address;
}

function sameAddress(a: string | undefined, b: string): boolean {
    return a !== undefined && famOf(a) !== undefined && canon(a) === canon(b);
}

/** `addr/len` (Calico's node annotations) -> addr. */
function addressPart(cidr: string | undefined): string | undefined {
    return cidr?.split("/")[0];
}

function cidrInside(outer: string, inner: string): boolean {
    const fam = familyOfCidr(inner);
    if (!fam || fam !== familyOfCidr(outer)) return false;
    return cidrContainsAddress(outer, inner.split("/")[0]) && prefixLength(inner) >= prefixLength(outer);
}

function condition(conds: Condition[] | undefined, type: string): Condition | undefined {
    return arr(conds).find((c) => c.type === type);
}

function isReady(conds: Condition[] | undefined): boolean {
    return condition(conds, "Ready")?.status === "True";
}

function describePod(pod: K8sPod): string {
    const st = arr(pod.status?.containerStatuses);
    const parts = [pod.status?.phase ?? "no phase"];
    for (const c of st) {
        if (c.state?.waiting) parts.push(`${c.name}: ${c.state.waiting.reason ?? "waiting"}${c.state.waiting.message ? ` (${c.state.waiting.message})` : ""}`);
        else if (c.state?.terminated) parts.push(`${c.name}: terminated ${c.state.terminated.reason ?? ""} exit ${c.state.terminated.exitCode ?? "?"}`.replace(/\s+/g, " "));
        else if (c.state?.running && !c.ready) parts.push(`${c.name}: running, readiness probe failing`);
        if ((c.restartCount ?? 0) > 0) parts.push(`${c.restartCount} restarts`);
    }
    const sched = condition(pod.status?.conditions, "PodScheduled");
    if (sched?.status === "False") parts.push(`unschedulable: ${sched.message ?? sched.reason ?? ""}`);
    return parts.join(", ");
}

function waitingReason(pod: K8sPod): string {
    return arr(pod.status?.containerStatuses)
        .map((c) => c.state?.waiting?.reason ?? "")
        .join(" ");
}

function serviceUnit(plan: Plan, node: PlannedNode): string {
    if (plan.distribution === "k3s") return node.role === "control-plane" ? "k3s" : "k3s-agent";
    return node.role === "control-plane" ? "k0scontroller" : "k0sworker";
}

function family(plan: Plan, fam: Family): { cidr: string; node: (n: PlannedNode) => string } {
    return fam === "IPv4"
        ? { cidr: plan.podCidrs.ipv4, node: (n) => n.ipv4 }
        : { cidr: plan.podCidrs.ipv6, node: (n) => n.ipv6 };
}

class Entry {
    readonly evidence: string[] = [];
    readonly findings: Finding[] = [];
    skippedBecause?: string;
    constructor(readonly id: CheckId) {}
    see(line: string): void {
        this.evidence.push(line);
    }
    fail(message: string, cause: string, fix: string): void {
        this.findings.push({ message, cause, fix });
    }
    skip(because: string): void {
        this.skippedBecause = because;
    }
    done(): CheckEntry {
        const base = { id: this.id, title: CHECK_TITLES[this.id], evidence: this.evidence };
        if (this.findings.length > 0) {
            return {
                ...base,
                status: "failed",
                cause: this.findings.map((f) => `${f.message}: ${f.cause}`).join("; "),
                fix: [...new Set(this.findings.map((f) => f.fix))].join(" "),
                findings: this.findings,
            };
        }
        if (this.skippedBecause !== undefined) return { ...base, status: "skipped", cause: this.skippedBecause };
        return { ...base, status: "passed" };
    }
}

interface Context {
    plan: Plan;
    doc: CollectorDocument;
    kubectl: string;
    nodes: PlannedNode[];
    first: PlannedNode;
    apiDown?: string;
    nodeByName: Map<string, K8sNode>;
    probeByNode: Map<string, K8sPod>;
    clientNode?: PlannedNode;
}

function waitEvidence(ctx: Context, entry: Entry, match: (what: string) => boolean): void {
    for (const w of arr(ctx.doc.waits)) {
        if (match(w.what) && !w.ok) entry.see(`gave up waiting for ${w.what} at ${w.seconds} s (deadline dualstack:checks.timeoutSeconds = ${ctx.plan.checks.timeoutSeconds})`);
    }
}

// ---- 1. Nodes ---------------------------------------------------------------------------------

function checkNodes(ctx: Context): CheckEntry {
    const { plan } = ctx;
    const e = new Entry("nodes");
    waitEvidence(ctx, e, (w) => w === "the API server" || /^node .* Ready$/.test(w));
    if (ctx.apiDown !== undefined) {
        const unit = serviceUnit(plan, ctx.first);
        const missing = /not found|No such file/i.test(ctx.apiDown);
        e.fail(
            `${ctx.kubectl} on ${ctx.first.name} could not list the nodes (${firstLine(ctx.apiDown)})`,
            missing ? `${ctx.kubectl.split(" ")[0]} is not installed on ${ctx.first.name}` : `the API server is not answering: the ${unit} service on ${ctx.first.name} is stopped or still starting`,
            `on ${ctx.first.name}: systemctl status ${unit}; journalctl -u ${unit} -n 100`,
        );
        return e.done();
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
            const nodeIp = `node-ip ${n.nodeIps.join(",")}`;
            const restart =
                plan.distribution === "k3s"
                    ? `/etc/rancher/k3s/config.yaml on ${n.name} must say ${nodeIp} (the plan writes it; run pulumi up again), and ${want} must be on ${n.interface} before ${unit} starts; then systemctl restart ${unit}`
                    : `the k0s ${n.role === "control-plane" ? "controller" : "worker"} on ${n.name} must run with --kubelet-extra-args=--node-ip=${n.nodeIps.join(",")} (the plan sets it), and ${want} must be on ${n.interface} before ${unit} starts; then systemctl restart ${unit}`;
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
    return e.done();
}

// ---- 2. calico-node -------------------------------------------------------------------------------

function checkCalicoNode(ctx: Context): CheckEntry {
    const { plan } = ctx;
    const e = new Entry("calico-node");
    const ns = calicoNamespace(plan);
    waitEvidence(ctx, e, (w) => w.startsWith("calico-node"));
    if (ctx.apiDown !== undefined) {
        e.skip("not run: the API server did not answer (see the nodes check)");
        return e.done();
    }
    const captured = ctx.doc.calicoPods;
    if (!captured?.json) {
        e.fail(
            `could not list calico-node pods in ${ns} (${firstLine(captured?.error)})`,
            plan.calico.managedBy === "operator" ? "Calico is not installed: the Tigera operator has not rendered calico-node" : "k0s has not deployed Calico (spec.network.provider calico)",
            plan.calico.managedBy === "operator" ? "kubectl get tigerastatus; kubectl -n tigera-operator logs deploy/tigera-operator" : `on ${ctx.first.name}: journalctl -u k0scontroller | grep -i calico`,
        );
        return e.done();
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
    return e.done();
}

// ---- 3. IPv6 IPPool ---------------------------------------------------------------------------

function checkIpv6Pool(ctx: Context): CheckEntry {
    const { plan } = ctx;
    const e = new Entry("ipv6-pool");
    if (ctx.apiDown !== undefined) {
        e.skip("not run: the API server did not answer (see the nodes check)");
        return e.done();
    }
    const operator = plan.calico.managedBy === "operator";
    const captured = ctx.doc.ipPools;
    if (!captured?.json) {
        e.fail(
            `could not list ippools.crd.projectcalico.org (${firstLine(captured?.error)})`,
            "the Calico CRDs are not installed",
            operator ? "install the crd.projectcalico.org.v1 chart before the operator (Calico 3.32 no longer bundles CRDs)" : "check that k0s deployed Calico (spec.network.provider calico)",
        );
        return e.done();
    }
    const pools = items(captured);
    for (const p of pools) {
        const s = p.spec ?? {};
        e.see(
            `${p.metadata?.name}: ${s.cidr}, natOutgoing ${s.natOutgoing === true}, ipipMode ${s.ipipMode ?? "Never"}, vxlanMode ${s.vxlanMode ?? "Never"}, blockSize ${s.blockSize ?? "default"}${s.disabled ? ", disabled" : ""}`,
        );
    }
    const v6pools = pools.filter((p) => familyOfCidr(p.spec?.cidr ?? "") === "IPv6");
    const planned = plan.podCidrs.ipv6;
    const pool = v6pools.find((p) => p.spec?.cidr !== undefined && cidrInside(planned, p.spec.cidr) && cidrInside(p.spec.cidr, planned));
    if (v6pools.length === 0) {
        e.fail(
            `there is no IPv6 IPPool (pools: ${pools.map((p) => `${p.metadata?.name} ${p.spec?.cidr}`).join(", ") || "none"})`,
            operator ? "the Installation lists no IPv6 pool in calicoNetwork.ipPools" : "k0s creates the IPv6 pool from CALICO_IPV6POOL_CIDR only with spec.network.dualStack.enabled",
            operator ? `the Installation must carry a pool for ${planned}: kubectl get installation default -o jsonpath='{.spec.calicoNetwork.ipPools}'` : `check spec.network.dualStack in /etc/k0s/k0s.yaml on ${ctx.first.name}`,
        );
        return e.done();
    }
    if (!pool) {
        e.fail(
            `the IPv6 IPPool ${v6pools.map((p) => `${p.metadata?.name} has cidr ${p.spec?.cidr}`).join(", ")}, planned ${planned}`,
            "Calico creates its pools only once; a pool from an earlier install (or Calico's random ULA /48 default) remains",
            "delete the stale pool once no pod uses it (kubectl delete ippools.crd.projectcalico.org <name>) or rebuild the cluster",
        );
        return e.done();
    }
    const name = pool.metadata?.name ?? "(unnamed)";
    if (pool.spec?.disabled) {
        e.fail(`the IPv6 IPPool ${name} is disabled`, "spec.disabled is true, so no pod gets an address from it", `kubectl patch ippools.crd.projectcalico.org ${name} --type merge -p '{"spec":{"disabled":false}}'`);
    }
    const want = plan.calico.ipv6NatOutgoing;
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
    return e.done();
}

// ---- 4. Probe pods --------------------------------------------------------------------------------

function applyError(ctx: Context, what: string): string | undefined {
    return arr(ctx.doc.applyErrors).find((a) => a.what === what)?.error;
}

function podWarnings(ctx: Context, pod: string): string {
    return items(ctx.doc.probeEvents)
        .filter((ev) => ev.involvedObject?.name === pod && ev.type === "Warning")
        .map((ev) => `${ev.reason}: ${ev.message}`)
        .slice(-1)
        .join("");
}

function checkProbePods(ctx: Context): CheckEntry {
    const { plan } = ctx;
    const e = new Entry("probe-pods");
    waitEvidence(ctx, e, (w) => w === "probe pods Ready" || w.startsWith("the default ServiceAccount"));
    if (ctx.apiDown !== undefined) {
        e.skip("not run: the API server did not answer (see the nodes check)");
        return e.done();
    }
    const refused = applyError(ctx, "namespace") ?? applyError(ctx, "probe pods");
    if (refused !== undefined) {
        e.fail(
            `the probe pods could not be created in namespace ${CHECK_NAMESPACE} (${firstLine(refused)})`,
            /forbidden|denied|violates/i.test(refused) ? "an admission policy refused them" : "the API server refused the probe objects",
            "allow busybox pods in that namespace, or point dualstack:checks.probeImage at an allowed image",
        );
        return e.done();
    }
    if (ctx.nodes.length === 0) {
        e.skip("the plan has no node that runs pods (k0s controllers without dualstack:cluster.controllersRunWorkloads)");
        return e.done();
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
        return e.done();
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
    return e.done();
}

// ---- 5. Probe Service and DNS -------------------------------------------------------------------

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

function checkService(ctx: Context): CheckEntry {
    const { plan } = ctx;
    const e = new Entry("service");
    if (ctx.apiDown !== undefined) {
        e.skip("not run: the API server did not answer (see the nodes check)");
        return e.done();
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
        return e.done();
    }
    const svc = ctx.doc.probeService?.json;
    if (!svc) {
        if (applyError(ctx, "namespace") !== undefined) e.skip("not run: the probe namespace could not be created (see the probe-pods check)");
        else e.fail(`the probe Service is missing (${firstLine(ctx.doc.probeService?.error)})`, "it was not created", `kubectl -n ${CHECK_NAMESPACE} get events`);
        return e.done();
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
        return e.done();
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
        return e.done();
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
    return e.done();
}

// ---- 6. Traefik --------------------------------------------------------------------------------

function sameSet(a: string[], b: string[]): boolean {
    const ca = a.filter((x) => famOf(x)).map(canon).sort();
    const cb = b.map(canon).sort();
    return ca.length === cb.length && ca.every((x, i) => x === cb[i]);
}

function checkTraefik(ctx: Context): CheckEntry {
    const { plan } = ctx;
    const e = new Entry("traefik");
    const want = expectedService(plan);
    waitEvidence(ctx, e, (w) => w.startsWith("Traefik"));
    if (ctx.apiDown !== undefined) {
        e.skip("not run: the API server did not answer (see the nodes check)");
        return e.done();
    }
    const captured = ctx.doc.traefikServices;
    if (!captured?.json) {
        e.fail(`could not list Services in namespace ${want.namespace} (${firstLine(captured?.error)})`, "kubectl failed", `kubectl -n ${want.namespace} get services`);
        return e.done();
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
        return e.done();
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
    return e.done();
}

// ---- 7. IPv6 egress ------------------------------------------------------------------------------

function checkEgress(ctx: Context): CheckEntry {
    const { plan } = ctx;
    const e = new Entry("ipv6-egress");
    const target = plan.checks.egressTarget;
    if (target === undefined) {
        e.skip("dualstack:checks.egressTarget is not set");
        return e.done();
    }
    if (ctx.apiDown !== undefined) {
        e.skip("not run: the API server did not answer (see the nodes check)");
        return e.done();
    }
    const egress = ctx.doc.probes?.egress;
    const client = ctx.clientNode;
    if (!egress || !client || !isReady(ctx.probeByNode.get(client.name)?.status?.conditions)) {
        e.skip(`not run: the probe pod on ${client?.name ?? "the first node"} is not Ready (see the probe-pods check)`);
        return e.done();
    }
    const out = egress.result.output.trim();
    e.see(`ping -6 ${target} from the probe on ${client.name}: ${egress.result.rc === 0 ? lastLines(out, 2) : `failed (${lastLines(out, 2)})`}`);
    if (egress.result.rc !== 0) {
        e.fail(
            `the probe on ${client.name} cannot reach ${target} over IPv6 (${probeError(egress.result)})`,
            plan.calico.ipv6NatOutgoing
                ? `${client.name} has no IPv6 route to ${target} (Calico requires a default IPv6 route on every host), or ${target} does not answer ping`
                : `IPv6 NAT outgoing is off (dualstack:calico.ipv6NatOutgoing: false): replies to pod addresses in ${plan.podCidrs.ipv6} have no route back`,
            plan.calico.ipv6NatOutgoing ? `on ${client.name}: ping -6 -c 3 ${target}; ip -6 route show default` : "set dualstack:calico.ipv6NatOutgoing: true, or route the pod CIDR to the cluster",
        );
    }
    return e.done();
}

// ---- Judge -------------------------------------------------------------------------------------

const ORDER: CheckId[] = ["nodes", "calico-node", "ipv6-pool", "probe-pods", "service", "traefik", "ipv6-egress"];

/** The collector's output (stdout, stderr) judged against the plan. */
export function judgeOutput(stdout: string, stderr: string, plan: Plan, kubectl: string): Report {
    const parsed = parseCollectorOutput(stdout, stderr);
    if (!parsed.doc) {
        const cp = plan.firstControlPlane.name;
        const checks = [...ORDER, ...(plan.bgp ? (["bgp"] as const) : [])].map((id) => {
            const e = new Entry(id);
            if (id === "nodes") {
                e.fail(
                    `the collector on ${cp} gave no evidence`,
                    parsed.error ?? "unknown",
                    `render the script (npm run render) and run nodes/${cp}/scripts/dualstack-check.sh on ${cp} with sh to see its errors`,
                );
            } else {
                e.skip("not run: the collector gave no evidence");
            }
            return e.done();
        });
        return finish(plan, checks);
    }
    return judge(parsed.doc, plan, kubectl);
}

export function judge(doc: CollectorDocument, plan: Plan, kubectl: string): Report {
    const nodes = kubeNodes(plan);
    const nodeByName = new Map<string, K8sNode>();
    for (const n of items(doc.nodes)) if (n.metadata?.name) nodeByName.set(n.metadata.name, n);
    const probeByNode = new Map<string, K8sPod>();
    for (const p of items(doc.probePods)) if (p.spec?.nodeName) probeByNode.set(p.spec.nodeName, p);
    const ctx: Context = {
        plan,
        doc,
        kubectl,
        nodes,
        first: plan.firstControlPlane,
        apiDown: doc.nodes?.json ? undefined : (doc.nodes?.error ?? "no node list collected"),
        nodeByName,
        probeByNode,
        clientNode: nodes[0],
    };
    const checks = [checkNodes(ctx), checkCalicoNode(ctx), checkIpv6Pool(ctx), checkProbePods(ctx), checkService(ctx), checkTraefik(ctx), checkEgress(ctx)];
    if (plan.bgp) checks.push(checkBgp({ plan, evidence: doc.bgpStatus, liveNodes: nodeByName, apiDown: ctx.apiDown }));
    return finish(plan, checks, doc);
}

function finish(plan: Plan, checks: CheckEntry[], doc?: CollectorDocument): Report {
    const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
    const failed = count("failed");
    return {
        result: failed > 0 ? "failed" : "passed",
        summary: `${checks.length} checks: ${count("passed")} passed, ${failed} failed, ${count("skipped")} skipped`,
        stack: plan.stackName,
        checkedFrom: plan.firstControlPlane.name,
        ...(doc?.startedAt ? { startedAt: doc.startedAt } : {}),
        ...(doc?.finishedAt ? { finishedAt: doc.finishedAt } : {}),
        checks,
    };
}

/** The message `pulumi up` fails with: every finding with its cause and fix. */
export function failureMessage(report: Report): string {
    const failed = report.checks.filter((c) => c.status === "failed");
    const lines = [
        `dual-stack check failed on stack ${report.stack} (evidence collected on ${report.checkedFrom}): ${failed.length} of ${report.checks.length} checks failed.`,
    ];
    for (const c of failed) {
        lines.push(`✗ ${c.id}: ${c.title}`);
        for (const f of c.findings ?? []) {
            lines.push(`  - ${f.message}: ${f.cause}.`);
            lines.push(`    Fix: ${f.fix}.`);
        }
    }
    const others = report.checks.filter((c) => c.status !== "failed").map((c) => `${c.id} ${c.status}`);
    if (others.length) lines.push(`Other checks: ${others.join(", ")}.`);
    lines.push("The full report with all evidence is the stack output dualStackReport; the next pulumi up runs the check again.");
    return lines.join("\n");
}
