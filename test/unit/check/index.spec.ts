// DualStackCheck in the whole program under Pulumi's mock runtime (test/support/program.ts): the
// collector command comes after everything else, carries exactly the rendered script, re-runs on
// every `pulumi up` but not in a preview, and a failed check fails the run while the report stays.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { createTimeout, ON_CHANGE_MARKER, PREVIEW_RUN_MARKER, runTrigger } from "../../../components/check";
import { judge } from "../../../components/check/judge";
import { cleanupScript, collectorScript } from "../../../components/check/scripts";
import { loadPlan, Plan } from "../../../components/plan";
import { remoteCommand } from "../../../components/shell";
import { fixture, healthyCollectorOutput, healthyDocument } from "../../fixtures/check/double";
import { RunOptions, RunResult, runProgram, stackConfig, transitiveDeps } from "../../support/program";

function planFor(stack: string): Plan {
    const raw = stackConfig(stack);
    return loadPlan((k) => raw[k], stack, Object.keys(raw)).plan;
}

/** Runs the program and collects what would fail it: rejections nobody handled. */
async function run(opts: RunOptions): Promise<{ result: RunResult; unhandled: unknown[] }> {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", listener);
    try {
        const result = await runProgram(opts);
        await new Promise((resolve) => setTimeout(resolve, 50));
        return { result, unhandled };
    } finally {
        process.off("unhandledRejection", listener);
    }
}

const checkStdout = (out: string) => (name: string) => (name === "check-run" ? out : undefined);

describe("dual-stack check under the mock runtime", () => {
    for (const stack of ["lab-k3s", "lab-k0s"]) {
        const plan = planFor(stack);
        const kubectl = `${plan.distribution} kubectl`;

        it(`${stack}: the collector runs on the first control plane after every other resource`, async () => {
            const { result } = await run({ stack, preview: true });
            const check = result.byName("check-run");
            const component = result.byType("dualstack:index:DualStackCheck");
            assert.equal(component.length, 1);
            assert.equal(check.type, "command:remote:Command");
            assert.equal(check.parent, component[0].urn);
            assert.ok(check.secretInputs.includes("connection"));
            const deps = transitiveDeps(result, check);
            // Every other resource, except providers and the commands that only read credentials for
            // them (secret stdout, e.g. the kubeconfig): the check uses the node's own kubectl.
            const others = result.resources.filter(
                (r) => r.custom && r.urn !== check.urn && !r.type.startsWith("pulumi:providers:") && !r.additionalSecretOutputs.includes("stdout"),
            );
            assert.ok(others.length > 10);
            const missing = others.filter((r) => !deps.has(r.urn)).map((r) => `${r.type} ${r.name}`);
            assert.deepEqual(missing, [], "the check must wait for every other resource");
            // In particular the cluster's nodes, Calico (operator-managed on k3s) and Traefik.
            const types = new Set(result.resources.filter((r) => deps.has(r.urn)).map((r) => r.type));
            assert.ok(types.has("kubernetes:helm.sh/v3:Release"), [...types].join(", "));
        });

        it(`${stack}: registers exactly the rendered collector and delete scripts, quietly`, async () => {
            const { result } = await run({ stack, preview: true });
            const check = result.byName("check-run");
            assert.equal(check.inputs.create, remoteCommand(collectorScript(plan, kubectl), plan.ssh.sudo));
            assert.equal(check.inputs.delete, remoteCommand(cleanupScript(kubectl), plan.ssh.sudo));
            assert.equal(check.inputs.update, undefined, "an input change re-runs create");
            assert.equal(check.inputs.logging, "stderr", "stdout is the large JSON evidence");
            assert.equal(check.inputs.addPreviousOutputInEnv, false);
            assert.deepEqual(check.inputs.triggers, [PREVIEW_RUN_MARKER]);
            assert.equal(check.deleteBeforeReplace, false, "nothing on the host outlives a run");
            assert.ok(!/PRIVATE KEY|TEST-ONLY-NOT-A-REAL-KEY/.test(check.inputs.create));
        });

        it(`${stack}: preview does not judge (stdout unknown) and does not crash`, async () => {
            const { result, unhandled } = await run({ stack, preview: true });
            assert.ok(result.byName("check-run"));
            assert.deepEqual(unhandled, []);
        });

        it(`${stack}: a healthy cluster gives a passing report as the stack output`, async () => {
            const { result, unhandled } = await run({ stack, preview: false, stdout: checkStdout(healthyCollectorOutput(plan)) });
            assert.deepEqual(unhandled, []);
            const report = JSON.parse(String(result.outputs.dualStackReport));
            assert.equal(report.result, "passed");
            assert.equal(report.checkedFrom, plan.firstControlPlane.name);
            assert.deepEqual(report, JSON.parse(JSON.stringify(judge(healthyDocument(plan), plan, kubectl))));
            const connection = result.byName("check-run").inputs.connection;
            assert.equal((connection.value ?? connection).host, plan.firstControlPlane.host);
            const trigger = result.byName("check-run").inputs.triggers[0];
            assert.match(trigger, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, "every up gets a new trigger");
        });
    }

    it("a failed check fails the run with the judged message, and the report stays the stack output", async () => {
        const doc = healthyDocument(planFor("lab-k3s"));
        doc.nodes = { json: fixture("nodes.calico-no-ipv6.json") };
        const { result, unhandled } = await run({ stack: "lab-k3s", preview: false, stdout: checkStdout(JSON.stringify(doc)) });
        const report = JSON.parse(String(result.outputs.dualStackReport));
        assert.equal(report.result, "failed");
        assert.equal(report.checks.find((c: { id: string }) => c.id === "calico-node").status, "failed");
        assert.ok(unhandled.length > 0, "the failure must reach the runtime's unhandled-rejection handler");
        const errors = new Set(unhandled);
        assert.equal(errors.size, 1, "one error object: the runtime reports it once");
        const err = [...errors][0];
        assert.ok(pulumi.ResourceError.isInstance(err));
        assert.equal(err.hideStack, true, "printed without a stack trace");
        assert.match(err.message, /^dual-stack check failed on stack lab-k3s \(evidence collected on cp1\): 1 of 7 checks failed\./);
        assert.match(err.message, /calico-node on cp1 detected no IPv6 address/);
        assert.equal(await new Promise((r) => err.resource!.urn.apply(r)), result.byType("dualstack:index:DualStackCheck")[0].urn);
    });

    it("output that is no document fails the run too", async () => {
        const { result, unhandled } = await run({ stack: "lab-k3s", preview: false, stdout: checkStdout("") });
        assert.equal(JSON.parse(String(result.outputs.dualStackReport)).result, "failed");
        assert.match(String((unhandled[0] as Error).message), /the collector on cp1 gave no evidence: the collector printed nothing/);
    });

    it("checks.enabled false registers no check", async () => {
        const config = { ...stackConfig("lab-k3s"), "dualstack:checks": JSON.stringify({ enabled: false }) };
        const { result } = await run({ config, stackName: "lab-k3s", preview: false });
        assert.equal(result.byType("dualstack:index:DualStackCheck").length, 0);
        assert.ok(!result.resources.some((r) => r.name === "check-run"));
        assert.match(String(result.outputs.dualStackReport), /checks disabled/);
    });

    it("the run trigger is fixed in a preview and new on every up", () => {
        const a = new Date("2026-08-24T10:00:00.000Z");
        const b = new Date("2026-08-24T10:00:00.001Z");
        assert.equal(runTrigger(true, a), PREVIEW_RUN_MARKER);
        assert.equal(runTrigger(true, b), PREVIEW_RUN_MARKER);
        assert.equal(runTrigger(false, a), "2026-08-24T10:00:00.000Z");
        assert.notEqual(runTrigger(false, a), runTrigger(false, b));
        assert.equal(createTimeout(planFor("lab-k3s")), "900s");
    });

    it("with checks.rerunEveryUp false the trigger is the same in preview and update, so a preview after up is clean", async () => {
        const config = { ...stackConfig("lab-k3s"), "dualstack:checks": JSON.stringify({ rerunEveryUp: false }) };
        const up = await run({ config, stackName: "lab-k3s", preview: false });
        const preview = await run({ config, stackName: "lab-k3s", preview: true });
        const trig = (r: typeof up.result) => r.resources.find((x) => x.name === "check-run")!.inputs.triggers;
        assert.deepEqual(trig(up.result), [ON_CHANGE_MARKER]);
        assert.deepEqual(trig(preview.result), trig(up.result));
        assert.equal(runTrigger(false, new Date(), false), runTrigger(true, new Date(0), false));
    });
});
