// Shared assertion on step data: registerSteps registers in list order, so every step must come
// after the steps it waits for.
import * as assert from "node:assert/strict";
import type { ClusterSteps } from "../../components/steps";

export function assertListedAfterWhatItWaitsFor(steps: ClusterSteps): void {
    const seen = new Set<string>();
    for (const step of steps.steps) {
        for (const a of step.after) assert.ok(a.startsWith("hostprep:") || seen.has(a), `${step.id} after ${a}`);
        seen.add(step.id);
    }
}
