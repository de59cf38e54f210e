// Workers/agents upgrade in batches; control planes stay one at a time. Pure.
// Default batch: 10% of the workers, rounded down, at least 1, as k0sctl upgrades workers
// (k0sproject/k0sctl phase/upgrade_workers.go: `concurrentUpgrades := int(math.Floor(float64(len(p.hosts)) * 0.10))`,
// 0 becomes 1). `cluster.workerUpgradeBatch` overrides it.
import { findings, Findings } from "./findings";

export function workerBatchSize(workers: number, configured?: number): number {
    if (configured !== undefined) return Math.max(1, Math.min(configured, Math.max(workers, 1)));
    return Math.max(1, Math.floor(workers * 0.1));
}

/** Consecutive batches of `size` names, in the given order. */
export function upgradeBatches(names: string[], size: number): string[][] {
    if (!Number.isInteger(size) || size < 1) throw new Error(`batch size must be a positive integer, got ${size}`);
    const out: string[][] = [];
    for (let i = 0; i < names.length; i += size) out.push(names.slice(i, i + size));
    return out;
}

/**
 * Ordering edges for the batches: every node of batch i+1 waits for every node of batch i, so at
 * most one batch restarts at a time. [after, before] pairs: `after` depends on `before`.
 */
export function batchEdges(batches: string[][]): [string, string][] {
    const edges: [string, string][] = [];
    for (let i = 1; i < batches.length; i++) {
        for (const after of batches[i]) for (const before of batches[i - 1]) edges.push([after, before]);
    }
    return edges;
}

export function workerUpgradeBatchFindings(configured: number | undefined, workers: number): Findings {
    const f = findings();
    if (configured !== undefined && configured > workers && workers > 0) {
        f.warn("dualstack:cluster.workerUpgradeBatch", configured, `is larger than the ${workers} worker(s): all of them restart at once`, `use at most ${workers}, or leave it unset for 10% of the workers`);
    }
    return f;
}
