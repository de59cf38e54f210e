// The k3s join, upgrade and destroy order, read from the step data alone (no Pulumi): Pulumi
// creates and updates in `after` order and deletes in the reverse, so these edges are the orders.
import * as assert from "node:assert/strict";
import { k3sSteps } from "../../../components/k3s/steps";
import { ClusterSteps, CommandStep, hostPrepOf, stepById, waitsFor } from "../../../components/steps";
import { baseConfig, ConfigInput, planOf } from "../../support/configs";
import { assertListedAfterWhatItWaitsFor, assertReplacedDeletesKeepTheRest } from "../../support/steps";

const node = (name: string, role: string, i: number) => ({ name, host: `192.168.121.${10 + i}`, role, interface: "eth0" });

function steps(servers: number, agents: number, o: ConfigInput = {}): ClusterSteps {
    const nodes = [...Array.from({ length: servers }, (_, i) => node(`cp${i + 1}`, "control-plane", i)), ...Array.from({ length: agents }, (_, i) => node(`worker${i + 1}`, "worker", 50 + i))];
    return k3sSteps(planOf(baseConfig({ nodes, ...o })));
}

const after = (s: ClusterSteps, id: string) => stepById(s, id).after;

describe("k3s/steps: order as data", () => {
    const s = steps(3, 3);

    it("the first server installs after its own host only (host preparation and token file)", () => {
        assert.deepEqual(after(s, "cp1-install"), [hostPrepOf("cp1"), "cp1-token"]);
        assert.deepEqual(after(s, "cp1-token"), [hostPrepOf("cp1")]);
    });

    it("servers join one at a time: each after the previous server's membership (registered, /readyz)", () => {
        assert.deepEqual(after(s, "cp2-install"), [hostPrepOf("cp2"), "cp2-token", "cp1-install"]);
        assert.deepEqual(after(s, "cp2-member"), ["cp2-install"]);
        assert.deepEqual(after(s, "cp3-install"), [hostPrepOf("cp3"), "cp3-token", "cp2-member"]);
        assert.ok(waitsFor(s, "cp3-install").has("cp1-install"));
    });

    it("agents join in parallel after the whole control plane: none waits for another agent, whatever the batches", () => {
        // Default batches (here of 1): batches order the upgrade steps, never the installs.
        for (const x of [s, steps(1, 25)]) {
            for (const a of x.steps.filter((y) => y.id.startsWith("worker") && y.id.endsWith("-install")).map((y) => y.id.replace(/-install$/, ""))) {
                const all = waitsFor(x, `${a}-install`);
                assert.ok(all.has(`${x === s ? "cp3" : "cp1"}-${x === s ? "member" : "install"}`), `${a} after the control plane`);
                assert.ok(![...all].some((id) => id.startsWith("worker") && !id.startsWith(`${a}-`)), `${a} waits for no other agent`);
                assert.ok(![...waitsFor(x, `${a}-member`)].some((id) => id.startsWith("worker") && !id.startsWith(`${a}-`)), `${a}'s membership waits for no other agent`);
            }
        }
        for (const a of ["worker1", "worker2", "worker3"]) assert.deepEqual(after(s, `${a}-install`), [hostPrepOf(a), `${a}-token`, "cp1-install", "cp3-member"]);
    });

    it("agents upgrade in batches of 10%, at least 1 (k0sctl's default): drain, upgrade, uncordon; each batch's drains after the previous batch's uncordons", () => {
        // 3 agents: batches of 1. Batch 1 after the last server (kubelets never newer than an API server).
        assert.deepEqual(after(s, "worker1-drain"), ["worker1-member", "cp3-member"]);
        assert.deepEqual(after(s, "worker1-upgrade"), ["worker1-drain"]);
        assert.deepEqual(after(s, "worker1-uncordon"), ["worker1-upgrade"]);
        assert.deepEqual(after(s, "worker2-drain"), ["worker2-member", "worker1-uncordon"]);
        assert.deepEqual(after(s, "worker3-drain"), ["worker3-member", "worker2-uncordon"]);
        for (const a of ["worker1", "worker2", "worker3"]) {
            assert.equal(stepById(s, `${a}-drain`).runsOn, "cp1");
            assert.equal(stepById(s, `${a}-upgrade`).runsOn, a);
            assert.equal(stepById(s, `${a}-uncordon`).runsOn, "cp1");
            for (const x of ["drain", "upgrade", "uncordon"]) assert.deepEqual((stepById(s, `${a}-${x}`) as CommandStep).triggers, [{ idOf: `${a}-install` }]);
        }
        assert.deepEqual(s.upgraded, ["worker3-uncordon"]);
        // 25 agents: batches of 2 (10% rounded down); the third batch's drains wait for the whole second batch.
        const big = steps(1, 25);
        for (const a of ["worker5", "worker6"]) assert.deepEqual(after(big, `${a}-drain`), [`${a}-member`, "worker3-uncordon", "worker4-uncordon"]);
        assert.ok(!waitsFor(big, "worker6-uncordon").has("worker5-upgrade"), "agents of one batch never wait for each other");
        assert.deepEqual(big.upgraded, ["worker25-uncordon"]);
        // workerUpgradeBatch overrides the default.
        assert.deepEqual(after(steps(1, 4, { cluster: { workerUpgradeBatch: 2 } }), "worker3-drain"), ["worker3-member", "worker1-uncordon", "worker2-uncordon"]);
    });

    it("registries: one node after the other, servers first, each before its node's install", () => {
        const r = steps(2, 2, { registries: { mirrors: { "docker.io": { endpoint: ["https://m.example.com"] } } } });
        assert.deepEqual(after(r, "cp1-registries"), [hostPrepOf("cp1")]);
        assert.deepEqual(after(r, "cp2-registries"), [hostPrepOf("cp2"), "cp1-registries"]);
        assert.deepEqual(after(r, "worker1-registries"), [hostPrepOf("worker1"), "cp2-registries"]);
        assert.deepEqual(after(r, "worker2-registries"), [hostPrepOf("worker2"), "worker1-registries"]);
        for (const n of ["cp1", "cp2", "worker1", "worker2"]) assert.ok(after(r, `${n}-install`).includes(`${n}-registries`));
    });

    it("upgrade: a changed version updates servers one at a time, then agents' upgrade steps batch by batch; agent installs ignore it", () => {
        // Updates follow the same edges as creates; the member step holds the next server back until
        // this one runs the new kubelet version.
        const up = steps(3, 3, { version: "v1.34.1+k3s1" });
        assert.deepEqual(up.steps.map((x) => [x.id, x.after]), s.steps.map((x) => [x.id, x.after]));
        const member = stepById(up, "cp2-member") as CommandStep;
        assert.equal(member.update, member.create);
        assert.match(member.create ?? "", /version='?v1\.34\.1\+k3s1'?/);
        const cmd = (x: ClusterSteps, id: string) => stepById(x, id) as CommandStep;
        for (const n of ["cp1", "cp2", "cp3"]) {
            assert.notEqual(cmd(up, `${n}-install`).update, cmd(s, `${n}-install`).update, `${n}'s install upgrades it`);
            assert.equal(cmd(up, `${n}-install`).ignoreChanges, undefined);
        }
        for (const a of ["worker1", "worker2", "worker3"]) {
            // The install records the new version (a replacement is created at it: Pulumi creates
            // replacements from ignored inputs' old values); its update has no version.
            assert.equal(cmd(up, `${a}-install`).ignoreChanges, undefined);
            assert.match(cmd(up, `${a}-install`).create!, /v1\.34\.1\+k3s1/);
            assert.equal(cmd(up, `${a}-install`).update, cmd(s, `${a}-install`).update, `${a}'s install is left alone`);
            assert.doesNotMatch(cmd(up, `${a}-install`).update!, /v1\.3/);
            for (const x of ["drain", "upgrade", "uncordon"]) assert.notEqual(cmd(up, `${a}-${x}`).update, cmd(s, `${a}-${x}`).update, `${a}-${x} carries the version`);
            assert.match(cmd(up, `${a}-upgrade`).update!, /v1\.34\.1\+k3s1/);
        }
        assert.ok(waitsFor(up, "cp3-install").has("cp2-member") && waitsFor(up, "worker1-drain").has("cp3-member") && waitsFor(up, "worker2-drain").has("worker1-uncordon"));
    });

    it("destroy (the reverse): a node's membership (drain) goes before its uninstall; agents before servers; the first server last", () => {
        for (const n of ["cp2", "cp3", "worker1"]) {
            const m = stepById(s, `${n}-member`) as CommandStep;
            assert.equal(m.runsOn, "cp1");
            assert.ok(m.after.includes(`${n}-install`) && m.delete !== undefined);
        }
        const dependents = (id: string) => s.steps.filter((x) => waitsFor(s, x.id).has(id)).map((x) => x.id);
        assert.ok(dependents("cp3-member").includes("worker1-install"));
        assert.ok(dependents("cp1-install").includes("cp3-install"));
    });

    it("every other node follows the first server's identity; the kubeconfig is read again with it", () => {
        for (const n of ["cp2", "cp3", "worker1"]) assert.deepEqual((stepById(s, `${n}-install`) as CommandStep).triggers?.at(-1), { idOf: "cp1-install" });
        assert.deepEqual(s.kubeconfig, "kubeconfig");
        assert.deepEqual((stepById(s, "kubeconfig") as CommandStep).triggers, [{ idOf: "cp1-install" }]);
        assert.deepEqual(s.apiReady, ["cp1-install"]);
        assert.deepEqual(s.nodesJoined, ["cp1-install", "cp2-install", "cp3-install", "worker1-install", "worker2-install", "worker3-install", "cp2-member", "cp3-member", "worker1-member", "worker2-member", "worker3-member"]);
    });

    it("air-gapped: the install waits for every copied file, each copy for the staging directory", () => {
        const air = k3sSteps(planOf(baseConfig({ install: { source: "airgap", airgapDir: "/srv/k3s" } })), ["k3s-airgap-images-amd64.tar.zst"]);
        const copies = ["install.sh", "k3s", "k3s-airgap-images-amd64.tar.zst"].map((f) => `worker1-copy-${f}`);
        assert.deepEqual(after(air, "worker1-install"), [hostPrepOf("worker1"), "worker1-token", ...copies, "cp1-install"]);
        for (const c of copies) assert.deepEqual(after(air, c), ["worker1-airgap-stage"]);
    });

    it("air-gapped, a node's new IPv6 address replaces its install but not the staged files: the old install's delete leaves them for the new install", () => {
        const air = (ipv6?: string) =>
            k3sSteps(
                planOf(baseConfig({
                    install: { source: "airgap", airgapDir: "/srv/k3s" },
                    nodes: [node("cp1", "control-plane", 0), { ...node("worker1", "worker", 50), ...(ipv6 ? { ipv6 } : {}) }],
                })),
                ["k3s-airgap-images-amd64.tar.zst"],
            );
        const replaced = assertReplacedDeletesKeepTheRest(air(), air("fd45:a71:55a6:1::99"));
        assert.deepEqual([...replaced].sort(), ["worker1-drain", "worker1-install", "worker1-member", "worker1-uncordon", "worker1-upgrade"]);
    });

    it("every step comes after the steps it waits for (registerSteps registers in list order)", () => {
        for (const x of [s, steps(1, 0), steps(2, 5)]) assertListedAfterWhatItWaitsFor(x);
    });
});
