// Worker/agent upgrade batches: sizes as k0sctl computes them, and the order they give the step
// data of both distributions (plain data, no Pulumi): installs in parallel, upgrades batch by batch.
import * as assert from "node:assert/strict";
import { upgradeBatches, workerBatchSize } from "../../components/batches";
import { k0sSteps } from "../../components/k0s/steps";
import { k3sSteps } from "../../components/k3s/steps";
import { kubeadmSteps } from "../../components/kubeadm/steps";
import { ClusterSteps, CommandStep, waitsFor } from "../../components/steps";
import { cleanupOwnerOf } from "../../policy/rules";
import { baseConfig, planOf } from "../support/configs";

describe("worker upgrade batches (10% of the workers, at least 1, as k0sctl)", () => {
    const sizes: [number, number | undefined, number][] = [
        [0, undefined, 1], [1, undefined, 1], [9, undefined, 1], [10, undefined, 1], [19, undefined, 1], [20, undefined, 2], [25, undefined, 2], [100, undefined, 10],
        [10, 3, 3], [2, 5, 2],
    ];
    for (const [workers, configured, want] of sizes) {
        it(`${workers} workers${configured ? `, workerUpgradeBatch ${configured}` : ""}: batches of ${want}`, () => assert.equal(workerBatchSize(workers, configured), want));
    }

    it("batches keep the order", () => {
        const names = Array.from({ length: 25 }, (_, i) => `w${i + 1}`);
        const batches = upgradeBatches(names, workerBatchSize(names.length));
        assert.deepEqual(batches.map((b) => b.length), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]);
        assert.deepEqual(batches.flat(), names);
        assert.throws(() => upgradeBatches(names, 0));
    });
});

const node = (name: string, role: string, i: number) => ({ name, host: `192.168.121.${10 + i}`, role, interface: "eth0" });
const distributions: [string, (cps: number, workers: number, batch?: number) => ClusterSteps][] = [
    ["k3s", (c, w, batch) => k3sSteps(planOf(baseConfig({ nodes: nodesOf(c, w), ...(batch ? { cluster: { workerUpgradeBatch: batch } } : {}) })))],
    ["k0s", (c, w, batch) => k0sSteps(planOf(baseConfig({ distribution: "k0s", version: "v1.36.3+k0s.2", traefik: { loadBalancer: "none" }, nodes: nodesOf(c, w), ...(batch ? { cluster: { workerUpgradeBatch: batch } } : {}) })))],
    ["kubeadm", (c, w, batch) => kubeadmSteps(planOf(baseConfig({ distribution: "kubeadm", version: "v1.36.3", traefik: { loadBalancer: "none" }, nodes: nodesOf(c, w), ...(batch ? { cluster: { workerUpgradeBatch: batch } } : {}) })))],
];
function nodesOf(cps: number, workers: number) {
    return [...Array.from({ length: cps }, (_, i) => node(`cp${i + 1}`, "control-plane", i)), ...Array.from({ length: workers }, (_, i) => node(`w${i + 1}`, "worker", 100 + i))];
}
const workersOf = (n: number) => Array.from({ length: n }, (_, i) => `w${i + 1}`);
const isUpgradeStep = (id: string) => /-(drain|upgrade|uncordon)$/.test(id);

/**
 * Longest chain of `after` edges among the steps `keep` selects (host preparations not counted),
 * each step weighing `weight` (default 1).
 */
function depth(s: ClusterSteps, keep: (id: string) => boolean = () => true, weight: (step: ClusterSteps["steps"][number]) => number = () => 1): number {
    const memo = new Map<string, number>();
    const ids = new Set(s.steps.map((x) => x.id).filter(keep));
    const d = (id: string): number => {
        const step = s.steps.find((x) => x.id === id)!;
        if (!memo.has(id)) memo.set(id, weight(step) + Math.max(0, ...step.after.filter((a) => ids.has(a)).map(d)));
        return memo.get(id)!;
    };
    return Math.max(...[...ids].map(d));
}
/** What a first up runs on a host: a command step's create (a copy always copies). */
const runsOnCreate = (x: ClusterSteps["steps"][number]) => (x.kind === "command" && x.create === undefined ? 0 : 1);

for (const [dist, steps] of distributions) {
    describe(`${dist}: workers join in parallel, upgrade in batches (step data)`, () => {
        for (const [workers, batch] of [[3, undefined], [25, undefined], [8, 3]] as [number, number | undefined][]) {
            const s = steps(3, workers, batch);
            const batches = upgradeBatches(workersOf(workers), workerBatchSize(workers, batch));
            const label = `${workers} workers${batch ? `, workerUpgradeBatch ${batch}` : ""}`;

            it(`${label}: no worker's install or join waits for another worker`, () => {
                for (const w of workersOf(workers)) {
                    for (const id of s.steps.filter((x) => x.id.startsWith(`${w}-`) && !isUpgradeStep(x.id)).map((x) => x.id)) {
                        const others = [...waitsFor(s, id)].filter((x) => /^w\d+-/.test(x) && !x.startsWith(`${w}-`));
                        assert.deepEqual(others, [], `${id} waits for ${others.join(", ")}`);
                    }
                }
            });

            it(`${label}: every control plane finishes before any drain; batch k's drains wait for every uncordon of batch k-1 and nothing of their own batch`, () => {
                // What carries a control plane's version: its install (and k3s' member check of its kubelet version).
                const cpSteps = s.steps.filter((x) => /^cp\d+-(install|member)$/.test(x.id)).map((x) => x.id);
                assert.ok(cpSteps.length >= 3);
                batches.forEach((b, k) => {
                    for (const w of b) {
                        const before = waitsFor(s, `${w}-drain`);
                        for (const c of cpSteps) assert.ok(before.has(c), `${w}-drain after ${c}`);
                        if (k > 0) for (const p of batches[k - 1]) assert.ok(stepById(s, `${w}-drain`).after.includes(`${p}-uncordon`), `${w}-drain after ${p}-uncordon`);
                        for (const same of b.filter((x) => x !== w)) assert.ok(!before.has(`${same}-upgrade`) && !waitsFor(s, `${w}-uncordon`).has(`${same}-upgrade`), `${w} and ${same} upgrade together`);
                    }
                });
                assert.deepEqual(s.upgraded, batches.at(-1)!.map((w) => `${w}-uncordon`));
            });

            it(`${label}: a first up's critical path of host work is the join's; the upgrade steps run nothing on create, only on update`, () => {
                const join = depth(s, (id) => !isUpgradeStep(id));
                assert.equal(join, depth(steps(3, 1, batch), (id) => !isUpgradeStep(id)), "the join does not grow with the workers");
                assert.equal(depth(s, () => true, runsOnCreate), join, "nothing a first up runs on a host waits for an upgrade batch");
                for (const x of s.steps.filter((y): y is CommandStep => isUpgradeStep(y.id))) {
                    assert.equal(x.create, undefined, `${x.id} runs on create`);
                    assert.ok(x.update && x.update.length > 0, `${x.id} has no update`);
                }
                // An update (a version change) still walks the batches: one drain, upgrade and uncordon each.
                assert.ok(depth(s) <= join + 3 * batches.length, `${depth(s)} > ${join} + 3 x ${batches.length}`);
                assert.ok(depth(s) >= 3 * batches.length, `${depth(s)} < 3 x ${batches.length}`);
            });

            it(`${label}: a worker's install ignores none of its create, so a replacement joins at the pinned version`, () => {
                // Pulumi creates a replacement from ignored inputs' old values (pulumi
                // pkg/resource/deploy/step_generator.go processIgnoreChanges), and the upgrade steps
                // replaced with the install have no create to move a replaced node on.
                for (const w of workersOf(workers)) {
                    const install = stepById(s, `${w}-install`) as CommandStep;
                    assert.ok(!(install.ignoreChanges ?? []).includes("create"), `${w}-install ignores its create`);
                    assert.ok(install.create !== undefined && install.create.length > 0);
                }
            });

            it(`${label}: a step without a delete that installs names its node's install, which it is replaced with`, () => {
                for (const x of s.steps.filter((y): y is CommandStep => y.kind === "command")) {
                    const owner = cleanupOwnerOf(x.update ?? x.create ?? "");
                    if (owner === undefined) continue;
                    const o = stepById(s, owner) as CommandStep;
                    assert.equal(o.runsOn, x.runsOn, x.id);
                    assert.ok(o.delete !== undefined && x.delete === undefined, x.id);
                    assert.deepEqual(x.triggers, [{ idOf: owner }], x.id);
                }
                assert.equal(s.steps.filter((x) => x.kind === "command" && cleanupOwnerOf(x.update ?? x.create ?? "") !== undefined).length, workers);
            });
        }

        it("the default keeps at most 19 batches (10% rounded down, at least 1), however many workers", () => {
            for (const n of [1, 9, 19, 20, 39, 99, 100, 1000]) assert.ok(upgradeBatches(workersOf(n), workerBatchSize(n)).length <= 19, `${n}`);
        });
    });
}

function stepById(s: ClusterSteps, id: string) {
    const x = s.steps.find((y) => y.id === id);
    if (!x) throw new Error(`no step ${id}`);
    return x;
}
