// What every check reads: the context (plan, document, indexes) and small helpers over the evidence.
import { profileOf } from "../distributions";
import { canonicalAddress, cidrContainsAddress, familyOfAddress, familyOfCidr, Family, prefixLength } from "../net";
import type { Plan, PlannedNode } from "../plan";
import type { Captured, CollectorDocument, Condition, K8sNode, K8sPod, List, ProbeResult } from "./document";
import type { Entry } from "./report";

export function items<T>(c: Captured<List<T>> | undefined): T[] {
    const list = c?.json?.items;
    return Array.isArray(list) ? list : [];
}

export function arr<T>(v: T[] | undefined | null): T[] {
    return Array.isArray(v) ? v : [];
}

export function lastLines(text: string | undefined, n: number): string {
    return (text ?? "")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "")
        .slice(-n)
        .join(" | ");
}

/** What a failed probe said: its last line, not kubectl's "command terminated with exit code N". */
export function probeError(result: ProbeResult): string {
    const lines = result.output
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !/^command terminated with exit code \d+$/.test(l));
    return lines.at(-1) ?? `exit ${result.rc}`;
}

export function firstLine(text: string | undefined): string {
    return (text ?? "").split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "(no output)";
}

export function famOf(address: string | undefined): Family | undefined {
    return address ? familyOfAddress(address) : undefined;
}

export function canon(address: string): string {
    return famOf(address) ? canonicalAddress(address) : address;
}

export function sameAddress(a: string | undefined, b: string): boolean {
    return a !== undefined && famOf(a) !== undefined && canon(a) === canon(b);
}

/** `addr/len` (Calico's node annotations) -> addr. */
export function addressPart(cidr: string | undefined): string | undefined {
    return cidr?.split("/")[0];
}

export function cidrInside(outer: string, inner: string): boolean {
    const fam = familyOfCidr(inner);
    if (!fam || fam !== familyOfCidr(outer)) return false;
    return cidrContainsAddress(outer, inner.split("/")[0]) && prefixLength(inner) >= prefixLength(outer);
}

export function condition(conds: Condition[] | undefined, type: string): Condition | undefined {
    return arr(conds).find((c) => c.type === type);
}

export function isReady(conds: Condition[] | undefined): boolean {
    return condition(conds, "Ready")?.status === "True";
}

export function describePod(pod: K8sPod): string {
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

export function waitingReason(pod: K8sPod): string {
    return arr(pod.status?.containerStatuses)
        .map((c) => c.state?.waiting?.reason ?? "")
        .join(" ");
}

export function serviceUnit(plan: Plan, node: PlannedNode): string {
    return profileOf(plan).serviceUnits[node.role];
}

export function family(plan: Plan, fam: Family): { cidr: string; node: (n: PlannedNode) => string } {
    return fam === "IPv4"
        ? { cidr: plan.podCidrs.ipv4, node: (n) => n.ipv4 }
        : { cidr: plan.podCidrs.ipv6, node: (n) => n.ipv6 };
}

export interface Context {
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

export function waitEvidence(ctx: Context, entry: Entry, match: (what: string) => boolean): void {
    for (const w of arr(ctx.doc.waits)) {
        if (match(w.what) && !w.ok) entry.see(`gave up waiting for ${w.what} at ${w.seconds} s (deadline dualstack:checks.timeoutSeconds = ${ctx.plan.checks.timeoutSeconds})`);
    }
}

export function applyError(ctx: Context, what: string): string | undefined {
    return arr(ctx.doc.applyErrors).find((a) => a.what === what)?.error;
}

export function podWarnings(ctx: Context, pod: string): string {
    return items(ctx.doc.probeEvents)
        .filter((ev) => ev.involvedObject?.name === pod && ev.type === "Warning")
        .map((ev) => `${ev.reason}: ${ev.message}`)
        .slice(-1)
        .join("");
}
