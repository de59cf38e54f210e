import * as assert from "node:assert/strict";
import { runProgram } from "./support/program";

// The whole program under Pulumi's mock runtime, for both shipped stacks, in preview mode (as on a
// first `pulumi preview`: no outputs known) and in update mode.
describe("index.ts under the mock runtime", () => {
    for (const stack of ["lab-k3s", "lab-k0s"]) {
        for (const preview of [true, false]) {
            it(`${stack} runs in ${preview ? "preview" : "update"} mode with every component registered`, async () => {
                const r = await runProgram({ stack, preview });
                const types = new Set(r.resources.map((x) => x.type));
                assert.ok(types.has("dualstack:index:HostPrep"));
                assert.ok(types.has(stack === "lab-k3s" ? "dualstack:index:K3sCluster" : "dualstack:index:K0sCluster"));
                assert.ok(types.has("dualstack:index:Traefik"));
                assert.ok(types.has("dualstack:index:DualStackCheck"));
                assert.equal(r.byType("dualstack:index:HostPrep").length, 3);
                if (!preview) assert.ok(String(r.outputs.apiServer).startsWith("https://"));
            });
        }
    }

    it("preview twice gives byte-identical resource inputs (deterministic previews)", async () => {
        const a = await runProgram({ stack: "lab-k3s", preview: true });
        const b = await runProgram({ stack: "lab-k3s", preview: true });
        const dump = (r: typeof a) => JSON.stringify(r.resources.map((x) => [x.urn, x.inputs, x.dependencies]).sort());
        assert.equal(dump(a), dump(b));
    });

    it("refuses a bad config before any resource is registered", async () => {
        const { stackConfig } = await import("./support/program");
        const config = { ...stackConfig("lab-k3s"), "dualstack:version": "latest" };
        await assert.rejects(runProgram({ config, preview: true }), /dualstack:version = "latest"/);
    });
});
