// Shared assertion on step data: registerSteps registers in list order, so every step must come
// after the steps it waits for.
import * as assert from "node:assert/strict";
import type { ClusterSteps, CopyStep, Step } from "../../components/steps";

export function assertListedAfterWhatItWaitsFor(steps: ClusterSteps): void {
    const seen = new Set<string>();
    for (const step of steps.steps) {
        for (const a of step.after) assert.ok(a.startsWith("hostprep:") || seen.has(a), `${step.id} after ${a}`);
        seen.add(step.id);
    }
}

/**
 * The steps a change from `before` to `after` replaces, as the command provider decides it: a
 * command on a changed `triggers` entry (an `{ idOf }` entry changes when the step it names is
 * replaced), a copy on a changed source, remotePath or `triggers`. Steps only in `before` count too.
 */
export function replacedSteps(before: ClusterSteps, after: ClusterSteps): Set<string> {
    const replaced = new Set<string>();
    const next = new Map(after.steps.map((s) => [s.id, s]));
    const key = (t: string | { idOf: string }) => (typeof t === "string" ? t : `idOf:${t.idOf}`);
    // List order: every step comes after what it waits for, so an `idOf` target is decided first.
    for (const old of before.steps) {
        const now = next.get(old.id);
        if (!now || now.kind !== old.kind) {
            replaced.add(old.id);
            continue;
        }
        const triggers = (s: Step) => (s.triggers ?? []).map(key);
        const changed =
            JSON.stringify(triggers(old)) !== JSON.stringify(triggers(now)) ||
            (old.triggers ?? []).some((t) => typeof t !== "string" && replaced.has(t.idOf)) ||
            (old.kind === "copy" && now.kind === "copy" && (old.source !== now.source || old.remotePath !== now.remotePath));
        if (changed) replaced.add(old.id);
    }
    return replaced;
}

/**
 * A replaced step's delete (run from the old state) must leave alone what the steps that are not
 * replaced put on the same host: their copies stay where they are and are not copied again, so
 * the replacement's create must still find them (the k0s air-gap bug the real engine found).
 */
export function assertReplacedDeletesKeepTheRest(before: ClusterSteps, after: ClusterSteps): Set<string> {
    const replaced = replacedSteps(before, after);
    const kept = before.steps.filter((s): s is CopyStep => s.kind === "copy" && !replaced.has(s.id));
    for (const s of before.steps) {
        if (s.kind !== "command" || !replaced.has(s.id) || s.delete === undefined) continue;
        for (const c of kept.filter((k) => k.runsOn === s.runsOn)) {
            const dir = c.remotePath.slice(0, c.remotePath.lastIndexOf("/"));
            for (const p of [c.remotePath, dir]) assert.ok(!s.delete.includes(p), `${s.id} is replaced and its delete touches ${p}, which ${c.id} (not replaced) placed`);
        }
    }
    return replaced;
}
