// Judges the collector's evidence (scripts.ts) against the plan. Pure: the same document and plan
// always give the same report. Every failure names the check, the evidence, the most likely
// cause and the fix, so `pulumi up` can fail with a message a user can act on.
// The document's shapes are in document.ts; each check lives in checks/<id>.ts, and
// checks/index.ts lists them in report order.
import type { Plan } from "../plan";
import { checksFor } from "./checks";
import { CollectorDocument, K8sNode, K8sPod, parseCollectorOutput } from "./document";
import { Context, items } from "./evidence";
import { CheckEntry, CheckStatus, Entry, Report } from "./report";
import { kubeNodes } from "./scripts";

export { aaaaAnswers } from "./checks/service";
export { CHECK_TITLES } from "./checks";
export type { Captured, CollectorDocument, IPPool, K8sNode, K8sPod, K8sService, ProbeResult } from "./document";
export { DOCUMENT_SCHEMA, parseCollectorOutput } from "./document";
export type { CheckEntry, CheckId, CheckStatus, Finding, Report } from "./report";
export { failureMessage } from "./report";

/** The collector's output (stdout, stderr) judged against the plan. */
export function judgeOutput(stdout: string, stderr: string, plan: Plan, kubectl: string): Report {
    const parsed = parseCollectorOutput(stdout, stderr);
    if (!parsed.doc) {
        const cp = plan.firstControlPlane.name;
        const checks = checksFor(plan).map((c) => {
            const e = new Entry(c.id, c.title);
            if (c.id === "nodes") {
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
    const checks = checksFor(plan).map((c) => {
        const e = new Entry(c.id, c.title);
        return c.judge(ctx, e) ?? e.done();
    });
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

