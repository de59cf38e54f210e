// Worker/agent upgrade batches: sizes as k0sctl computes them, batches and their ordering edges.
import * as assert from "node:assert/strict";
import { batchEdges, upgradeBatches, workerBatchSize } from "../../components/batches";

describe("worker upgrade batches (10% of the workers, at least 1, as k0sctl)", () => {
    const sizes: [number, number | undefined, number][] = [
        [0, undefined, 1], [1, undefined, 1], [9, undefined, 1], [10, undefined, 1], [19, undefined, 1], [20, undefined, 2], [25, undefined, 2], [100, undefined, 10],
        [10, 3, 3], [2, 5, 2],
    ];
    for (const [workers, configured, want] of sizes) {
        it(`${workers} workers${configured ? `, workerUpgradeBatch ${configured}` : ""}: batches of ${want}`, () => assert.equal(workerBatchSize(workers, configured), want));
    }

    it("batches keep the order and each batch waits for the whole previous one", () => {
        const names = Array.from({ length: 25 }, (_, i) => `w${i + 1}`);
        const batches = upgradeBatches(names, workerBatchSize(names.length));
        assert.deepEqual(batches.map((b) => b.length), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]);
        assert.deepEqual(batches.flat(), names);
        const edges = batchEdges(upgradeBatches(["a", "b", "c", "d", "e"], 2));
        assert.deepEqual(edges, [["c", "a"], ["c", "b"], ["d", "a"], ["d", "b"], ["e", "c"], ["e", "d"]]);
        assert.throws(() => upgradeBatches(names, 0));
    });
});
