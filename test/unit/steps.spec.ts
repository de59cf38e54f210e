// stepArtifacts: what render writes for a step (registerSteps' side is proven equal to it by the
// mock-runtime render test).
import * as assert from "node:assert/strict";
import { Step, stepArtifacts, waitsFor } from "../../components/steps";

const step = (o: Partial<Step> & { id: string }): Step => ({ kind: "command", runsOn: "cp1", script: `x-${o.id}`, create: "c", after: [], deleteBeforeReplace: true, ...o }) as Step;

describe("steps: stepArtifacts and waitsFor", () => {
    it("create, update only where it differs, delete, and a stdin rendered as the node's file", () => {
        const out = stepArtifacts([
            step({ id: "a", update: "c", delete: "d" }),
            step({ id: "b", update: "u", stdin: { text: "cfg", file: "/etc/x/config.yaml" } }),
            step({ id: "s", stdin: { secret: "token" } }),
            { kind: "copy", id: "copy", runsOn: "cp1", source: "/a", remotePath: "/b", after: [], triggers: [], deleteBeforeReplace: false },
        ]);
        assert.deepEqual(out, [
            { path: "nodes/cp1/scripts/x-a-create.sh", content: "c" },
            { path: "nodes/cp1/scripts/x-a-delete.sh", content: "d" },
            { path: "nodes/cp1/etc/x/config.yaml", content: "cfg" },
            { path: "nodes/cp1/scripts/x-b-create.sh", content: "c" },
            { path: "nodes/cp1/scripts/x-b-update.sh", content: "u" },
            { path: "nodes/cp1/scripts/x-s-create.sh", content: "c" },
        ]);
    });

    it("waitsFor follows `after` transitively, host preparations included", () => {
        const steps = { steps: [step({ id: "a", after: ["hostprep:cp1"] }), step({ id: "b", after: ["a"] }), step({ id: "c", after: ["b"] })], kubeconfig: "a", apiReady: [], nodesJoined: [], upgraded: [] };
        assert.deepEqual([...waitsFor(steps, "c")].sort(), ["a", "b", "hostprep:cp1"]);
    });
});
