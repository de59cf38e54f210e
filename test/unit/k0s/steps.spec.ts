// The k0s join, upgrade and destroy order, read from the step data alone (no Pulumi): Pulumi
// creates and updates in `after` order and deletes in the reverse, so these edges are the orders.
import * as assert from "node:assert/strict";
import { k0sSteps } from "../../../components/k0s/steps";
import { ClusterSteps, CommandStep, hostPrepOf, stepById, waitsFor } from "../../../components/steps";
import { baseConfig, ConfigInput, planOf } from "../../support/configs";
import { assertListedAfterWhatItWaitsFor, assertReplacedDeletesKeepTheRest } from "../../support/steps";

const node = (name: string, role: string, i: number) => ({ name, host: `192.168.122.${10 + i}`, role, interface: "eth0" });

function steps(controllers: number, workers: number, o: ConfigInput = {}): ClusterSteps {
    const nodes = [...Array.from({ length: controllers }, (_, i) => node(`ctl${i + 1}`, "control-plane", i)), ...Array.from({ length: workers }, (_, i) => node(`worker${i + 1}`, "worker", 50 + i))];
    return k0sSteps(planOf(baseConfig({ distribution: "k0s", version: "v1.36.3+k0s.2", traefik: { loadBalancer: "none" }, nodes, ...o })));
}

const after = (s: ClusterSteps, id: string) => stepById(s, id).after;

describe("k0s/steps: order as data", () => {
    const s = steps(3, 3);

    it("the first controller: config, then install; no token", () => {
        assert.deepEqual(after(s, "ctl1-install"), [hostPrepOf("ctl1"), "ctl1-config"]);
        assert.throws(() => stepById(s, "ctl1-token"));
    });

    it("controllers join one at a time: ctl2-install after ctl1-install, ctl3-install after ctl2-install (not after a membership step, as k3s)", () => {
        assert.deepEqual(after(s, "ctl2-install"), [hostPrepOf("ctl2"), "ctl1-install", "ctl2-config", "ctl2-token"]);
        assert.deepEqual(after(s, "ctl3-install"), [hostPrepOf("ctl3"), "ctl2-install", "ctl3-config", "ctl3-token"]);
        // Each controller's token is made on the first controller once the previous one is up.
        assert.deepEqual(after(s, "ctl3-token"), ["ctl1-install", "ctl2-install"]);
        assert.equal(stepById(s, "ctl3-token").runsOn, "ctl1");
    });

    it("workers join in parallel after the last controller, each with a fresh token; none waits for another worker, whatever the batches", () => {
        // Default batches (here of 1): batches order the upgrade steps, never the installs.
        for (const w of ["worker1", "worker2", "worker3"]) {
            assert.deepEqual(after(s, `${w}-install`), [hostPrepOf(w), "ctl3-install", `${w}-token`]);
            assert.deepEqual(after(s, `${w}-token`), ["ctl1-install", "ctl3-install"]);
            for (const id of [`${w}-install`, `${w}-joined`]) assert.ok(![...waitsFor(s, id)].some((x) => x.startsWith("worker") && !x.startsWith(`${w}-`)), `${id} waits for no other worker`);
        }
        const big = steps(1, 20);
        assert.deepEqual(after(big, "worker3-install"), [hostPrepOf("worker3"), "ctl1-install", "worker3-token"]);
    });

    it("workers upgrade in batches of 10%, at least 1 (k0sctl's default): drain, upgrade, uncordon; each batch's drains after the previous batch's uncordons", () => {
        assert.deepEqual(after(s, "worker1-drain"), ["worker1-joined", "ctl3-install"]);
        assert.deepEqual(after(s, "worker1-upgrade"), ["worker1-drain"]);
        assert.deepEqual(after(s, "worker1-uncordon"), ["worker1-upgrade"]);
        assert.deepEqual(after(s, "worker2-drain"), ["worker2-joined", "worker1-uncordon"]);
        for (const w of ["worker1", "worker2", "worker3"]) {
            assert.equal(stepById(s, `${w}-drain`).runsOn, "ctl1");
            assert.equal(stepById(s, `${w}-upgrade`).runsOn, w);
            assert.equal(stepById(s, `${w}-uncordon`).runsOn, "ctl1");
        }
        assert.deepEqual(s.upgraded, ["worker3-uncordon"]);
        // 20 workers: batches of 2; the second batch's drains wait for the whole first batch.
        const big = steps(1, 20);
        for (const w of ["worker3", "worker4"]) assert.deepEqual(after(big, `${w}-drain`), [`${w}-joined`, "worker1-uncordon", "worker2-uncordon"]);
        assert.ok(!waitsFor(big, "worker4-uncordon").has("worker3-upgrade"), "workers of one batch never wait for each other");
        // Air-gapped, the upgrade also waits for the staged binary.
        const air = steps(1, 1, { install: { source: "airgap", airgapDir: "/srv/k0s" } });
        assert.deepEqual(after(air, "worker1-upgrade"), ["worker1-drain", "worker1-binary"]);
    });

    it("registries and backups: registries one kubelet node after the other before each install; a backup timer after each controller's install", () => {
        const r = steps(2, 1, { registries: { mirrors: { "docker.io": { endpoint: ["https://m.example.com"] } } }, cluster: { etcdSnapshots: {} } });
        assert.deepEqual(after(r, "ctl2-registries"), [hostPrepOf("ctl2"), "ctl1-registries"]);
        assert.deepEqual(after(r, "worker1-registries"), [hostPrepOf("worker1"), "ctl2-registries"]);
        for (const n of ["ctl1", "ctl2", "worker1"]) assert.ok(after(r, `${n}-install`).includes(`${n}-registries`));
        assert.deepEqual(after(r, "ctl1-backup"), ["ctl1-install"]);
        assert.throws(() => stepById(r, "worker1-backup"));
    });

    it("upgrade: controllers' installs update (k0s upgrade script) one at a time, then the workers' upgrade steps batch by batch; worker installs ignore the version", () => {
        const up = steps(3, 3, { version: "v1.36.4+k0s.0" });
        assert.deepEqual(up.steps.map((x) => [x.id, x.after]), s.steps.map((x) => [x.id, x.after]));
        const cmd = (x: ClusterSteps, id: string) => stepById(x, id) as CommandStep;
        for (const id of ["ctl1-install", "ctl2-install", "ctl3-install"]) {
            assert.ok(cmd(up, id).update !== undefined && cmd(up, id).update !== cmd(up, id).create, `${id} upgrades in place`);
            assert.notEqual(cmd(up, id).update, cmd(s, id).update);
        }
        for (const w of ["worker1", "worker2", "worker3"]) {
            // The install records the new version (a replacement is created at it); its update,
            // the same as before, reconfigures only when the flags changed.
            assert.equal(cmd(up, `${w}-install`).ignoreChanges, undefined);
            assert.match(cmd(up, `${w}-install`).create!, /v1\.36\.4\+k0s\.0/);
            assert.equal(cmd(up, `${w}-install`).update, cmd(s, `${w}-install`).update, `${w}'s install update does not carry the version`);
            assert.match(cmd(up, `${w}-install`).update!, /dualstack-install-args.*then\n.*nothing to reconfigure/s);
            for (const x of ["drain", "upgrade", "uncordon"]) assert.notEqual(cmd(up, `${w}-${x}`).update, cmd(s, `${w}-${x}`).update, `${w}-${x} carries the version`);
            assert.match(cmd(up, `${w}-upgrade`).update!, /v1\.36\.4\+k0s\.0/);
        }
        assert.ok(waitsFor(up, "ctl3-install").has("ctl2-install") && waitsFor(up, "worker1-drain").has("ctl3-install") && waitsFor(up, "worker2-drain").has("worker1-uncordon"));
    });

    it("registration (controllers run workloads by default): a joined step per kubelet node, on the first controller, after the node's and the first install; the first's has no drain", () => {
        const kubelets = steps(2, 2);
        for (const n of ["ctl1", "ctl2", "worker1", "worker2"]) {
            const j = stepById(kubelets, `${n}-joined`) as CommandStep;
            assert.equal(j.runsOn, "ctl1");
            assert.deepEqual(j.after, [`${n}-install`, "ctl1-install"]);
            assert.equal(j.delete === undefined, n === "ctl1");
        }
        // Without workloads, controllers are not Nodes: only workers get a joined step.
        const noWorkloads = steps(3, 3, { cluster: { controllersRunWorkloads: false } });
        assert.deepEqual(noWorkloads.steps.filter((x) => x.id.endsWith("-joined")).map((x) => x.id), ["worker1-joined", "worker2-joined", "worker3-joined"]);
    });

    it("the add-ons wait for every install and registration; the API for the first install", () => {
        assert.deepEqual(s.apiReady, ["ctl1-install"]);
        assert.deepEqual(s.nodesJoined, ["ctl1-install", "ctl1-joined", "ctl2-install", "ctl2-joined", "ctl3-install", "ctl3-joined", "worker1-install", "worker1-joined", "worker2-install", "worker2-joined", "worker3-install", "worker3-joined"]);
        assert.deepEqual(after(s, "kubeconfig"), ["ctl1-install"]);
    });

    it("air-gapped: the binary is staged before the install", () => {
        const air = steps(1, 1, { install: { source: "airgap", airgapDir: "/srv/k0s" } });
        assert.deepEqual(after(air, "worker1-binary"), [hostPrepOf("worker1"), "worker1-airgap-stage"]);
        assert.deepEqual(after(air, "worker1-install"), [hostPrepOf("worker1"), "ctl1-install", "worker1-binary", "worker1-token"]);
    });

    it("air-gapped, a node's new IPv6 address replaces its install but not the staged binary: the old install's delete leaves it for the new install", () => {
        const air = (ipv6?: string) =>
            k0sSteps(
                planOf(baseConfig({
                    distribution: "k0s",
                    version: "v1.36.3+k0s.2",
                    traefik: { loadBalancer: "none" },
                    install: { source: "airgap", airgapDir: "/srv/k0s" },
                    nodes: [node("ctl1", "control-plane", 0), { ...node("worker1", "worker", 50), ...(ipv6 ? { ipv6 } : {}) }],
                })),
            );
        const replaced = assertReplacedDeletesKeepTheRest(air(), air("fd45:a71:55a6:1::99"));
        // What the real engine replaced (node-ip is create-only), plus the upgrade steps that follow the install; the staging steps stay.
        assert.deepEqual([...replaced].sort(), ["worker1-drain", "worker1-install", "worker1-joined", "worker1-token", "worker1-uncordon", "worker1-upgrade"]);
    });

    it("every step comes after the steps it waits for (registerSteps registers in list order)", () => {
        for (const x of [s, steps(1, 0), steps(2, 5)]) assertListedAfterWhatItWaitsFor(x);
    });
});
