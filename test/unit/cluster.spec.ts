// registerCluster / registerSteps under the mock runtime: the registered graph is the step data,
// nothing more. Every order itself is asserted on the data (test/unit/k3s/steps.spec.ts,
// test/unit/k0s/steps.spec.ts); this proves the wiring carries it over unchanged.
import * as assert from "node:assert/strict";
import { k0sSteps } from "../../components/k0s/steps";
import { k3sSteps } from "../../components/k3s/steps";
import { loadPlan } from "../../components/plan";
import type { ClusterSteps } from "../../components/steps";
import { baseConfig, rawConfig } from "../support/configs";
import { runProgram, RunResult } from "../support/program";

const nodes = (c: number, w: number) => [
    ...Array.from({ length: c }, (_, i) => ({ name: `ctl${i + 1}`, host: `192.168.122.${11 + i}`, role: "control-plane", interface: "eth0" })),
    ...Array.from({ length: w }, (_, i) => ({ name: `worker${i + 1}`, host: `192.168.122.${101 + i}`, role: "worker", interface: "eth0" })),
];

const shapes: { label: string; config: Record<string, unknown>; steps: (raw: Record<string, string>) => ClusterSteps }[] = [
    { label: "k3s, 3 servers + 3 agents", config: baseConfig({ nodes: nodes(3, 3) }), steps: (raw) => k3sSteps(loadPlan((k) => raw[k], "wiring").plan) },
    {
        label: "k0s, 3 controllers + 3 workers",
        config: baseConfig({ distribution: "k0s", version: "v1.36.3+k0s.2", traefik: { loadBalancer: "none" }, nodes: nodes(3, 3) }),
        steps: (raw) => k0sSteps(loadPlan((k) => raw[k], "wiring").plan),
    },
];

describe("cluster: registerCluster wires the step data", () => {
    for (const shape of shapes) {
        describe(shape.label, () => {
            const raw = rawConfig(shape.config);
            const data = shape.steps(raw);
            let r: RunResult;
            before(async () => {
                r = await runProgram({ config: raw, stackName: "wiring", preview: false });
            });

            it("one resource per step, named cluster-<id>", () => {
                const registered = r.resources.filter((x) => /^command:remote:(Command|CopyToRemote)$/.test(x.type) && x.name.startsWith("cluster-")).map((x) => x.name);
                assert.deepEqual(registered.sort(), data.steps.map((s) => `cluster-${s.id}`).sort());
            });

            it("each resource depends on exactly its steps' `after` (a host preparation as its resources) and the steps its inputs read", () => {
                const urn = (name: string) => r.byName(name).urn;
                const prep = (node: string) => {
                    const comp = r.resources.find((x) => x.type === "dualstack:index:HostPrep" && x.name === `host-${node}`)!;
                    return r.resources.filter((x) => x.custom && x.parent === comp.urn).map((x) => x.urn);
                };
                for (const s of data.steps) {
                    const want = s.after.flatMap((a) => (a.startsWith("hostprep:") ? prep(a.slice("hostprep:".length)) : [urn(`cluster-${a}`)]));
                    // Property dependencies: a trigger on another step's id, a stdin from its stdout, the generated token.
                    if (s.kind === "command") {
                        for (const t of s.triggers ?? []) if (typeof t !== "string") want.push(urn(`cluster-${t.idOf}`));
                        if (s.stdin && "stdoutOf" in s.stdin) want.push(urn(`cluster-${s.stdin.stdoutOf}`));
                        if (s.stdin && "secret" in s.stdin) want.push(urn("cluster-token"));
                    }
                    assert.deepEqual([...new Set(r.byName(`cluster-${s.id}`).dependencies)].sort(), [...new Set(want)].sort(), s.id);
                }
            });

            it("delete-before-replace, secret outputs and stdin as the data says", () => {
                for (const s of data.steps) {
                    const reg = r.byName(`cluster-${s.id}`);
                    assert.equal(reg.deleteBeforeReplace, s.deleteBeforeReplace, s.id);
                    if (s.kind !== "command") continue;
                    // The command SDK itself always keeps `connection` secret.
                    assert.deepEqual(reg.additionalSecretOutputs.filter((o) => o !== "connection"), s.secret ? [s.secret] : [], s.id);
                    assert.equal(reg.inputs.logging, s.silent ? "none" : undefined, s.id);
                    assert.equal(reg.secretInputs.includes("stdin"), s.stdin !== undefined && !("text" in s.stdin), s.id);
                }
            });
        });
    }
});
