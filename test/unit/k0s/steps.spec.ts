// The k0s join, upgrade and destroy order, read from the step data alone (no Pulumi): Pulumi
// creates and updates in `after` order and deletes in the reverse, so these edges are the orders.
import * as assert from "node:assert/strict";
import { k0sSteps } from "../../../components/k0s/steps";
import { ClusterSteps, CommandStep, hostPrepOf, stepById, waitsFor } from "../../../components/steps";
import { baseConfig, ConfigInput, planOf } from "../../support/configs";
import { assertListedAfterWhatItWaitsFor } from "../../support/steps";

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

    it("workers in one batch (workerUpgradeBatch: 3) join in parallel after the last controller, each with a fresh token; none waits for another worker", () => {
        const s = steps(3, 3, { cluster: { workerUpgradeBatch: 3 } });
        for (const w of ["worker1", "worker2", "worker3"]) {
            assert.deepEqual(after(s, `${w}-install`), [hostPrepOf(w), "ctl3-install", `${w}-token`]);
            assert.deepEqual(after(s, `${w}-token`), ["ctl1-install", "ctl3-install"]);
            assert.ok(![...waitsFor(s, `${w}-install`)].some((id) => id.startsWith("worker") && !id.startsWith(`${w}-`)));
        }
    });

    it("workers go in batches of 10%, at least 1 (k0sctl's default): each batch after the previous batch's installs", () => {
        assert.deepEqual(after(s, "worker1-install"), [hostPrepOf("worker1"), "ctl3-install", "worker1-token"]);
        assert.deepEqual(after(s, "worker2-install"), [hostPrepOf("worker2"), "ctl3-install", "worker1-install", "worker2-token"]);
        const big = steps(1, 20);
        assert.deepEqual(after(big, "worker3-install"), [hostPrepOf("worker3"), "ctl1-install", "worker1-install", "worker2-install", "worker3-token"]);
        assert.ok(!waitsFor(big, "worker4-install").has("worker3-install"), "workers of one batch never wait for each other");
    });

    it("registries and backups: registries one kubelet node after the other before each install; a backup timer after each controller's install", () => {
        const r = steps(2, 1, { registries: { mirrors: { "docker.io": { endpoint: ["https://m.example.com"] } } }, cluster: { etcdSnapshots: {} } });
        assert.deepEqual(after(r, "ctl2-registries"), [hostPrepOf("ctl2"), "ctl1-registries"]);
        assert.deepEqual(after(r, "worker1-registries"), [hostPrepOf("worker1"), "ctl2-registries"]);
        for (const n of ["ctl1", "ctl2", "worker1"]) assert.ok(after(r, `${n}-install`).includes(`${n}-registries`));
        assert.deepEqual(after(r, "ctl1-backup"), ["ctl1-install"]);
        assert.throws(() => stepById(r, "worker1-backup"));
    });

    it("upgrade: the install's update (k0s upgrade script) follows the same edges, controllers one at a time, then workers", () => {
        const up = steps(3, 3, { version: "v1.36.4+k0s.0" });
        assert.deepEqual(up.steps.map((x) => [x.id, x.after]), s.steps.map((x) => [x.id, x.after]));
        for (const id of ["ctl1-install", "ctl2-install", "worker1-install"]) {
            const i = stepById(up, id) as CommandStep;
            assert.ok(i.update !== undefined && i.update !== i.create, `${id} upgrades in place`);
        }
        assert.ok(waitsFor(up, "ctl3-install").has("ctl2-install") && waitsFor(up, "worker2-install").has("ctl3-install"));
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

    it("every step comes after the steps it waits for (registerSteps registers in list order)", () => {
        for (const x of [s, steps(1, 0), steps(2, 5)]) assertListedAfterWhatItWaitsFor(x);
    });
});
