// dualstack:cluster.etcdSnapshots: cron to OnCalendar, rules, k3s config keys and the k0s backup timer.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { kubeadmSteps } from "../../components/kubeadm/steps";
import type { CommandStep } from "../../components/steps";
import { k3sConfig } from "../../components/k3s/config";
import { artifacts as k0sArtifacts } from "../../components/k0s/render";
import { profileOf } from "../../components/distributions";
import { cronToOnCalendar, etcdSnapshotFindings, k0sBackupUnits, kubeadmSnapshotScript, kubeadmSnapshotUnits, KUBEADM_SNAPSHOT_DIR } from "../../components/snapshots";
import { baseConfig, planOf, rawConfig } from "../support/configs";
import { runProgram } from "../support/program";
import { nodes, k0s, errorsOf, warningsOf } from "../support/daytwo";
import { tempDir } from "../support/tmp";

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

    describe("kubeadm: a timer per control plane runs etcdctl from the etcd image through ctr", () => {
        const kubeadm = (o: Record<string, unknown> = {}) => baseConfig({ distribution: "kubeadm", version: "v1.36.3", traefik: { loadBalancer: "none" }, nodes: nodes(3, 2), ...o });

        it("accepted with any number of control planes (stacked etcd always runs); a snapshot step after each control plane's install, none elsewhere", () => {
            assert.deepEqual(errorsOf(kubeadm({ nodes: nodes(1, 1), cluster: { etcdSnapshots: {} } })), []);
            const plan = planOf(kubeadm({ cluster: { etcdSnapshots: { retention: 3 } } }));
            const steps = kubeadmSteps(plan).steps;
            const snaps = steps.filter((s) => s.id.endsWith("-etcd-snapshot")) as CommandStep[];
            assert.deepEqual(snaps.map((s) => s.runsOn), ["cp1", "cp2", "cp3"]);
            for (const s of snaps) {
                assert.deepEqual(s.after, [`${s.runsOn}-install`]);
                assert.ok((s.create ?? "").includes("chmod 0700 /var/lib/dualstack/etcd-snapshots") && s.delete!.includes("disable --now"));
            }
            assert.ok(!kubeadmSteps(planOf(kubeadm())).steps.some((s) => s.id.endsWith("-etcd-snapshot")));
        });

        it("units: the script as ExecStart after the kubelet, root-only, newest `retention` kept", () => {
            const u = kubeadmSnapshotUnits({ schedule: "30 2 * * *", retention: 4 });
            assert.ok(u.service.includes("ExecStart=/usr/local/sbin/dualstack-etcd-snapshot") && u.service.includes("After=kubelet.service"));
            assert.ok(u.service.includes("UMask=0077") && u.service.includes(`ls -1t ${KUBEADM_SNAPSHOT_DIR}/etcd-snapshot-*.db | tail -n +5`));
            assert.ok(u.timer.includes("OnCalendar=*-*-* 02:30:00"));
        });

        /** Runs the snapshot script with its paths moved under a temporary root and a TEST DOUBLE of ctr on PATH. */
        function runSnapshot(manifest: string | undefined, ctrFails = false): { status: number | null; stderr: string; dir: string; argv: string } {
            const root = tempDir("dualstack-etcd-snap");
            const bin = path.join(root, "bin");
            fs.mkdirSync(bin);
            fs.mkdirSync(path.join(root, "snapshots"));
            if (manifest !== undefined) fs.writeFileSync(path.join(root, "etcd.yaml"), manifest);
            // TEST DOUBLE of ctr: records its argv, and writes the file `snapshot save` names under the bind-mounted directory.
            fs.writeFileSync(
                path.join(bin, "ctr"),
                [
                    "#!/bin/sh",
                    `printf '%s\\n' "$@" > "${root}/ctr.argv"`,
                    ...(ctrFails ? ["echo 'etcdctl: context deadline exceeded' >&2; exit 1"] : []),
                    'for a in "$@"; do last="$a"; done',
                    `printf snapshot > "${root}/snapshots/$(basename "$last")"`,
                    "",
                ].join("\n"),
                { mode: 0o755 },
            );
            const text = kubeadmSnapshotScript().split(KUBEADM_SNAPSHOT_DIR).join(path.join(root, "snapshots")).split("/etc/kubernetes/manifests/etcd.yaml").join(path.join(root, "etcd.yaml"));
            const r = spawnSync("sh", ["-c", text], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
            const argvFile = path.join(root, "ctr.argv");
            return { status: r.status, stderr: r.stderr, dir: path.join(root, "snapshots"), argv: fs.existsSync(argvFile) ? fs.readFileSync(argvFile, "utf8") : "" };
        }

        it("a run: the manifest's image, host network, etcd PKI read-only, local member; a complete root-only .db, no .part left", () => {
            const r = runSnapshot("spec:\n  containers:\n  - command:\n    - etcd\n    image: registry.k8s.io/etcd:3.6.5-0\n");
            assert.equal(r.status, 0, r.stderr);
            const argv = r.argv.split("\n");
            for (const want of ["-n", "k8s.io", "run", "--rm", "--net-host", "registry.k8s.io/etcd:3.6.5-0", "etcdctl", "--endpoints=https://127.0.0.1:2379", "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt", "snapshot", "save"]) assert.ok(argv.includes(want), want);
            assert.ok(argv.includes("type=bind,src=/etc/kubernetes/pki/etcd,dst=/etc/kubernetes/pki/etcd,options=rbind:ro"));
            const files = fs.readdirSync(r.dir);
            assert.equal(files.length, 1);
            assert.match(files[0], /^etcd-snapshot-\d{8}T\d{6}Z\.db$/);
            assert.equal(fs.statSync(path.join(r.dir, files[0])).mode & 0o777, 0o600);
        });

        it("failures: no etcd image in the manifest stops before ctr; a failed etcdctl leaves no snapshot", () => {
            const none = runSnapshot("kind: Pod\n");
            assert.notEqual(none.status, 0);
            assert.match(none.stderr, /no etcd image/);
            assert.equal(none.argv, "");
            const failed = runSnapshot("    image: registry.k8s.io/etcd:3.6.5-0\n", true);
            assert.notEqual(failed.status, 0);
            assert.deepEqual(fs.readdirSync(failed.dir), []);
        });

        it("the snapshot script passes shellcheck -s sh", () => {
            const f = path.join(tempDir("dualstack-etcd-snap-sh"), "snap.sh");
            fs.writeFileSync(f, kubeadmSnapshotScript());
            // SC1001 is shell-quote escaping `=` and `:` in the mount options (as the other shellcheck tests exclude it).
            const r = spawnSync("shellcheck", ["-s", "sh", "-e", "SC1001", f], { encoding: "utf8" });
            if (r.error) assert.fail(`shellcheck could not run (${r.error.message})`);
            assert.equal(r.status, 0, r.stdout);
        });
    });

    it("warnings: a batch larger than the workers", () => {
        assert.ok(warningsOf(baseConfig({ cluster: { workerUpgradeBatch: 5 } })).some((w) => w.key === "dualstack:cluster.workerUpgradeBatch"));
    });
});
