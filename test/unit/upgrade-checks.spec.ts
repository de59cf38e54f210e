// The "already at the version?" checks of the upgrade scripts, run by sh against small recording
// TEST DOUBLES of kubectl, k3s and kubelet (PATH first), because a loose check either skips a
// needed upgrade or leaves a node cordoned.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { agentUpgradeScript } from "../../components/k3s/scripts";
import { UPGRADE_CORDON_ANNOTATION, upgradeDrainLines } from "../../components/kube";
import { script } from "../../components/shell";
import { baseConfig, planOf } from "../support/configs";
import { tempDir } from "../support/tmp";

/** Runs `body` with the given doubles on PATH; returns stdout and the doubles' recorded argv lines. */
function run(body: string, doubles: Record<string, string>): { code: number | null; stdout: string; calls: string[] } {
    const dir = tempDir("dualstack-upgrade-checks");
    const log = path.join(dir, "calls.log");
    for (const [name, text] of Object.entries(doubles)) {
        fs.writeFileSync(path.join(dir, name), `#!/bin/sh\necho "${name} $*" >>'${log}'\n${text}\n`, { mode: 0o755 });
    }
    const r = spawnSync("/bin/sh", ["-c", body], { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin` } });
    return { code: r.status, stdout: r.stdout, calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [] };
}

/** kubectl TEST DOUBLE answering the node fields the drain reads. */
const kubectl = (kubeletVersion: string, marked: boolean, unschedulable: boolean) => `
case "$*" in
  *kubeletVersion*) echo '${kubeletVersion}' ;;
  *annotations*) ${marked ? "echo true" : ":"} ;;
  *unschedulable*) echo '${unschedulable}' ;;
  *) : ;;
esac`;

describe("upgrade checks: a worker's drain before its upgrade (kube.ts upgradeDrainLines)", () => {
    const drain = script(upgradeDrainLines({ kubectl: "kubectl", node: "w1", kubeletVersion: "v1.36.4", drainTimeoutSeconds: 5, readyTimeoutSeconds: 5 }));
    const mutations = (calls: string[]) => calls.filter((c) => / (drain|uncordon|annotate|cordon) /.test(` ${c.slice("kubectl ".length)} `));

    it("at the version, not marked: nothing (a first up, a re-run)", () => {
        const r = run(drain, { kubectl: kubectl("v1.36.4", false, false) });
        assert.equal(r.code, 0, r.stdout);
        assert.deepEqual(mutations(r.calls), []);
    });

    it("at the version but still marked by an earlier failed upgrade (the pin went back): uncordoned, the mark removed", () => {
        const r = run(drain, { kubectl: kubectl("v1.36.4", true, true) });
        assert.equal(r.code, 0, r.stdout);
        assert.deepEqual(mutations(r.calls), ["kubectl uncordon w1", `kubectl annotate node w1 ${UPGRADE_CORDON_ANNOTATION}-`]);
    });

    it("another version (v1.36.40 is not v1.36.4): marked and drained", () => {
        const r = run(drain, { kubectl: kubectl("v1.36.40", false, false) });
        const m = mutations(r.calls);
        assert.equal(m[0], `kubectl annotate node w1 ${UPGRADE_CORDON_ANNOTATION}=true --overwrite`);
        assert.ok(m.some((c) => c.startsWith("kubectl drain w1 ")), m.join("\n"));
    });
});

describe("upgrade checks: a k3s agent's upgrade step (k3s/scripts.ts agentUpgradeScript)", () => {
    const plan = planOf(baseConfig());
    const agent = plan.workers[0];
    // Up to the version check only: what follows runs the installer, which has no place on this machine.
    const full = agentUpgradeScript(plan, agent);
    const body = `${full.slice(0, full.indexOf("\nesac\n") + "\nesac\n".length)}echo 'dualstack: would upgrade'\n`;
    const k3s = (v: string) => `echo "k3s version ${v} (TEST DOUBLE)"`;

    it(`skips only the exact pinned version (${plan.version})`, () => {
        assert.ok(full.includes("\nesac\n"));
        assert.match(run(body, { k3s: k3s(plan.version) }).stdout, /already runs k3s/);
    });

    it("does not take a longer tag for the pin (+k3s10 for +k3s1), nor another patch", () => {
        const longer = plan.version.replace(/\+k3s(\d+)$/, "+k3s$10");
        assert.notEqual(longer, plan.version);
        for (const v of [longer, plan.version.replace(/^v1\.(\d+)\.(\d+)/, (_, mi, pa) => `v1.${mi}.${pa}0`)]) {
            assert.match(run(body, { k3s: k3s(v) }).stdout, /would upgrade/, v);
        }
    });
});
