// Workers/agents upgrade in batches; control planes stay one at a time. Pure.
// Default batch: 10% of the workers, rounded down, at least 1, as k0sctl upgrades workers
// (k0sproject/k0sctl phase/upgrade_workers.go: `concurrentUpgrades := int(math.Floor(float64(len(p.hosts)) * 0.10))`,
// 0 becomes 1). `cluster.workerUpgradeBatch` overrides it.
import { findings, Findings } from "./findings";
import { upgradeDrainLines, upgradeUncordonLines, type UpgradeNodeOptions } from "./kube";
import type { Plan } from "./plan";
import { script } from "./shell";
import { cleanupOwnerLine, type CommandStep } from "./steps";

export function workerBatchSize(workers: number, configured?: number): number {
    if (configured !== undefined) return Math.max(1, Math.min(configured, Math.max(workers, 1)));
    return Math.max(1, Math.floor(workers * 0.1));
}

/** A plan's workers in upgrade batches (names, in join order). */
export function workerBatchesOf(plan: Pick<Plan, "workers" | "cluster">): string[][] {
    return upgradeBatches(plan.workers.map((n) => n.name), workerBatchSize(plan.workers.length, plan.cluster.workerUpgradeBatch));
}

/** Consecutive batches of `size` names, in the given order. */
export function upgradeBatches(names: string[], size: number): string[][] {
    if (!Number.isInteger(size) || size < 1) throw new Error(`batch size must be a positive integer, got ${size}`);
    const out: string[][] = [];
    for (let i = 0; i < names.length; i += size) out.push(names.slice(i, i + size));
    return out;
}

export function workerUpgradeBatchFindings(configured: number | undefined, workers: number): Findings {
    const f = findings();
    if (configured !== undefined && configured > workers && workers > 0) {
        f.warn("dualstack:cluster.workerUpgradeBatch", configured, `is larger than the ${workers} worker(s): all of them restart at once`, `use at most ${workers}, or leave it unset for 10% of the workers`);
    }
    return f;
}

/** What a distribution runs to upgrade one worker (scripts built from the plan by its scripts.ts). */
export interface WorkerUpgrade {
    /**
     * How the first control plane reaches the node (its kubectl, the kubelet version to await, the
     * deadlines): the drain before and the uncordon after the upgrade are the same for every
     * distribution (kube.ts upgradeDrainLines, upgradeUncordonLines).
     */
    node: UpgradeNodeOptions;
    /** On the worker: a no-op when it already runs the target version; else upgrade and restart. */
    upgrade: string;
}

export interface WorkerUpgradeArgs {
    /** Prefix of the rendered script names, e.g. `k3s`. */
    distribution: string;
    firstControlPlane: string;
    /** The workers in batches (upgradeBatches). */
    batches: string[][];
    /** The last step of every control plane's install/upgrade: batch 1 waits for them. */
    controlPlanesDone: string[];
    /** What one worker's upgrade waits for besides the batch before: its install, join, staged files. */
    ready: (worker: string) => { drain: string[]; upgrade: string[] };
    scripts: (worker: string) => WorkerUpgrade;
}

/**
 * The workers' upgrade steps, apart from their installs: installs join in parallel and ignore a
 * version change; these three steps per worker carry the version and the batch order. Every
 * worker's drain waits for all control planes and for the uncordon of every worker of the
 * previous batch, so at most one batch restarts at a time and kubelets are never newer than an
 * API server. They have no create, only an update: creating them runs nothing and opens no SSH
 * connection (components/steps.ts CommandStep.create), so on a first up, when every install
 * already carries the pinned version, their chain costs the engine a few bookkeeping calls and the
 * critical path does not grow with the workers. A version change updates them, batch by batch.
 * A replaced install (the node created again, with the pinned version) replaces them, again
 * running nothing.
 */
export function workerUpgradeSteps(a: WorkerUpgradeArgs): CommandStep[] {
    const out: CommandStep[] = [];
    a.batches.forEach((batch, i) => {
        const previous = i > 0 ? a.batches[i - 1].map((w) => `${w}-uncordon`) : a.controlPlanesDone;
        for (const w of batch) {
            const s = a.scripts(w);
            const drain = script(upgradeDrainLines(s.node));
            const uncordon = script(upgradeUncordonLines(s.node));
            const ready = a.ready(w);
            const install = `${w}-install`;
            const common = { kind: "command" as const, triggers: [{ idOf: install }], deleteBeforeReplace: false };
            // No delete: the install's delete (uninstall/reset) removes whatever the upgrade put
            // there, and the trigger replaces the upgrade with the install. The policy
            // install-commands-have-delete reads this line instead of asking for a delete.
            const upgrade = `${s.upgrade}${cleanupOwnerLine(install)}\n`;
            out.push(
                { ...common, id: `${w}-drain`, runsOn: a.firstControlPlane, script: `${a.distribution}-drain-${w}`, update: drain, after: [...ready.drain, ...previous] },
                { ...common, id: `${w}-upgrade`, runsOn: w, script: `${a.distribution}-upgrade`, update: upgrade, after: [`${w}-drain`, ...ready.upgrade] },
                { ...common, id: `${w}-uncordon`, runsOn: a.firstControlPlane, script: `${a.distribution}-uncordon-${w}`, update: uncordon, after: [`${w}-upgrade`] },
            );
        }
    });
    return out;
}
