// The check's report: one entry per check, and the message `pulumi up` fails with.
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

/** Collects one check's evidence, findings or reason to skip, and turns them into its report entry. */
export class Entry {
    readonly evidence: string[] = [];
    readonly findings: Finding[] = [];
    skippedBecause?: string;
    constructor(
        readonly id: CheckId,
        readonly title: string,
    ) {}
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
        const base = { id: this.id, title: this.title, evidence: this.evidence };
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
