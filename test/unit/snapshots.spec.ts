// dualstack:cluster.etcdSnapshots: cron to OnCalendar, rules, k3s config keys and the k0s backup timer.
import * as assert from "node:assert/strict";
import { k3sConfig } from "../../components/k3s/config";
import { artifacts as k0sArtifacts } from "../../components/k0s/render";
import { profileOf } from "../../components/distributions";
import { cronToOnCalendar, etcdSnapshotFindings, k0sBackupUnits } from "../../components/snapshots";
import { baseConfig, planOf, rawConfig } from "../support/configs";
import { runProgram } from "../support/program";
import { nodes, k0s, errorsOf, warningsOf } from "../support/daytwo";

describe("etcd snapshots", () => {
    const crons: [string, string | RegExp][] = [
        ["0 */12 * * *", "*-*-* 00,12:00:00"],
        ["30 2 * * *", "*-*-* 02:30:00"],
        ["0 3 * * 0", "Sun *-*-* 03:00:00"],
        ["0 3 * * 1-5", "Mon,Tue,Wed,Thu,Fri *-*-* 03:00:00"],
        ["15 1 1,15 * *", "*-*-01,15 01:15:00"],
        ["0 0 * */6 *", "*-01,07-* 00:00:00"],
        ["0 0 * * 7", "Sun *-*-* 00:00:00"],
        ["0 0 1 * 1", /OR and systemd with AND/],
        ["0 25 * * *", /outside 0-23/],
        ["@daily", /five-field/],
        ["0 0 * *", /five-field/],
    ];
    for (const [cron, want] of crons) {
        it(`cron ${JSON.stringify(cron)}`, () => {
            if (typeof want === "string") assert.equal(cronToOnCalendar(cron), want);
            else assert.throws(() => cronToOnCalendar(cron), want);
        });
    }

    it("k3s: refused with one server (SQLite), in every server's config.yaml with embedded etcd, not on agents", () => {
        assert.ok(etcdSnapshotFindings({ schedule: "0 */12 * * *", retention: 5 }, { profile: profileOf("k3s").dayTwo.etcdSnapshots, controlPlanes: 1 }).errors.some((e) => /embedded etcd/.test(e.rule)));
        assert.ok(errorsOf(baseConfig({ cluster: { etcdSnapshots: { schedule: "0 0 1 * 1" } } })).some((e) => e.key === "dualstack:cluster.etcdSnapshots.schedule"));
        const plan = planOf(baseConfig({ nodes: nodes(3, 1), cluster: { etcdSnapshots: { schedule: "0 */6 * * *", retention: 7 } } }));
        for (const n of plan.nodes) {
            const c = k3sConfig(plan, n);
            assert.equal(c["etcd-snapshot-schedule-cron"], n.role === "control-plane" ? "0 */6 * * *" : undefined);
            assert.equal(c["etcd-snapshot-retention"], n.role === "control-plane" ? 7 : undefined);
        }
    });

    it("k0s: a timer per controller runs k0s backup into a root-only directory and keeps `retention` archives", async () => {
        const units = k0sBackupUnits({ schedule: "0 */12 * * *", retention: 3 }, "/usr/local/bin/k0s");
        assert.ok(units.service.includes("ExecStart=/usr/local/bin/k0s backup --save-path /var/lib/dualstack/k0s-backups"));
        assert.ok(units.service.includes("tail -n +4") && units.service.includes("UMask=0077"));
        assert.ok(units.timer.includes("OnCalendar=*-*-* 00,12:00:00"));
        const cfg = k0s({ nodes: nodes(3, 1), cluster: { etcdSnapshots: { retention: 3 } } });
        const plan = planOf(cfg);
        const arts = k0sArtifacts(plan);
        for (const n of plan.nodes) assert.equal(arts.some((a) => a.path === `nodes/${n.name}/scripts/k0s-backup-create.sh`), n.role === "control-plane");
        const r = await runProgram({ config: rawConfig(cfg), stackName: "snap", preview: true });
        for (const n of ["cp1", "cp2", "cp3"]) {
            const b = r.byName(`cluster-${n}-backup`);
            assert.ok(b.dependencies.includes(r.byName(`cluster-${n}-install`).urn));
            assert.ok(String(b.inputs.create).includes("chmod 0700 /var/lib/dualstack/k0s-backups"));
            assert.ok(String(b.inputs.delete).includes("disable --now"));
        }
    });

    it("warnings: a batch larger than the workers", () => {
        assert.ok(warningsOf(baseConfig({ cluster: { workerUpgradeBatch: 5 } })).some((w) => w.key === "dualstack:cluster.workerUpgradeBatch"));
    });
});
