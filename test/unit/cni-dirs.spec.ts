// The CNI directories an install may leave behind: recorded before the install, removed on delete only
// when dualstack's install found them missing and they are empty. Run with sh under a temporary root
// (a TEST DOUBLE of /), so the host's own /etc/cni and /opt/cni are never touched.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { installScript as k3sInstall, uninstallScript } from "../../components/k3s/scripts";
import { installScript as k0sInstall, resetScript } from "../../components/k0s/scripts";
import { CNI_DIRS_STATE, cniDirsRecordLines, cniDirsRemoveLines } from "../../components/kube";
import { script } from "../../components/shell";
import { baseConfig, planOf } from "../support/configs";
import { tempDir } from "../support/tmp";

describe("kube: CNI directories go on delete only if dualstack's install created them", () => {
    let root: string;
    const run = (lines: string[]) => {
        const r = spawnSync("sh", ["-c", script(lines)], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
    };
    const exists = (p: string) => fs.existsSync(path.join(root, p));
    /** What install-cni does: DirectoryOrCreate hostPaths, then its files. */
    const calico = () => {
        for (const d of ["etc/cni/net.d", "opt/cni/bin"]) fs.mkdirSync(path.join(root, d), { recursive: true });
        fs.writeFileSync(path.join(root, "opt/cni/bin/calico"), "x");
    };
    const cleanup = () => fs.rmSync(path.join(root, "opt/cni/bin/calico"));

    beforeEach(() => (root = tempDir("dualstack-cni")));
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("absent before: empty after the cleanup, so removed with the record and its folder", () => {
        run(cniDirsRecordLines(root));
        calico();
        run(cniDirsRecordLines(root));
        assert.equal(fs.readFileSync(root + CNI_DIRS_STATE, "utf8"), ["/etc/cni", "/etc/cni/net.d", "/opt/cni", "/opt/cni/bin"].map((d) => root + d + "\n").join(""), "the second run kept the first record");
        cleanup();
        run(cniDirsRemoveLines(root));
        for (const d of ["etc/cni", "opt/cni", "var/lib/dualstack"]) assert.ok(!exists(d), d);
    });

    it("there before, or not empty: kept", () => {
        fs.mkdirSync(path.join(root, "etc/cni/net.d"), { recursive: true });
        run(cniDirsRecordLines(root));
        calico();
        fs.writeFileSync(path.join(root, "opt/cni/bin/someone-elses-plugin"), "x");
        cleanup();
        run(cniDirsRemoveLines(root));
        for (const d of ["etc/cni/net.d", "opt/cni/bin/someone-elses-plugin"]) assert.ok(exists(d), d);
        assert.ok(!exists(CNI_DIRS_STATE));
    });

    it("nothing recorded (a node installed before this record existed): nothing removed", () => {
        calico();
        cleanup();
        run(cniDirsRemoveLines(root));
        assert.ok(exists("etc/cni/net.d") && exists("opt/cni/bin"));
    });

    it("k3s and k0s record before installing and remove after Calico's cleanup; k3s no longer removes /etc/cni unconditionally", () => {
        const k3s = planOf(baseConfig());
        const k0s = planOf(baseConfig({ distribution: "k0s", version: "v1.36.3+k0s.2", traefik: { loadBalancer: "none" } }));
        const pairs = [
            [k3sInstall(k3s, k3s.nodes[1]), uninstallScript(k3s.nodes[1])],
            [k0sInstall(k0s, k0s.nodes[1]), resetScript(k0s, k0s.nodes[1])],
        ];
        for (const [create, del] of pairs) {
            assert.ok(create.includes(cniDirsRecordLines().join("\n")));
            assert.ok(del.indexOf(cniDirsRemoveLines().join("\n")) > del.indexOf("/opt/cni/bin/calico"));
            assert.ok(!del.includes("rmdir /etc/cni/net.d /etc/cni"));
        }
    });
});
