import * as assert from "node:assert/strict";
import { runProgram, stackConfig } from "../support/program";

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

    for (const stack of ["lab-k3s", "lab-k0s"]) {
        it(`${stack}: recoveryUrns lists, per node, exactly the resources with a delete that runs on that host`, async () => {
            const r = await runProgram({ stack, preview: false });
            const urns = r.outputs.recoveryUrns as Record<string, string[]>;
            const hostOf = (x: (typeof r.resources)[number]) => {
                const c = x.inputs.connection;
                return (c && "value" in c ? c.value : c)?.host;
            };
            const plan = (await import("../../components/plan")).loadPlan((k) => stackConfig(stack)[k], stack);
            for (const n of plan.plan.nodes) {
                const expected = r.resources.filter((x) => x.type === "command:remote:Command" && x.inputs.delete && hostOf(x) === n.host).map((x) => x.urn).sort();
                assert.deepEqual([...urns[n.name]].sort(), expected, `node ${n.name}`);
                assert.ok(expected.length >= 3);
            }
        });
    }

    it("hostPrep.enabled false registers no host preparation", async () => {
        const config = { ...stackConfig("lab-k3s"), "dualstack:hostPrep": JSON.stringify({ enabled: false }) };
        const r = await runProgram({ config, stackName: "lab-k3s", preview: false });
        assert.equal(r.byType("dualstack:index:HostPrep").length, 0);
        assert.ok(r.byType("command:remote:Command").length > 0);
    });

    it("refuses a bad config before any resource is registered", async () => {
        const config = { ...stackConfig("lab-k3s"), "dualstack:version": "latest" };
        await assert.rejects(runProgram({ config, preview: true }), /dualstack:version = "latest"/);
    });
});
