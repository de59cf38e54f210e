// The day-two pieces together: shellcheck of every day-two script, and README documenting every new key and rule.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { artifacts as k3sArtifacts } from "../../components/k3s/render";
import { artifacts as k0sArtifacts } from "../../components/k0s/render";
import { artifacts as kubeadmArtifacts } from "../../components/kubeadm/render";
import { baseConfig, ConfigInput, planOf } from "../support/configs";
import { REGISTRIES, K0S_REGISTRIES, nodes, k0s } from "../support/daytwo";
import { tempDir } from "../support/tmp";

describe("day-two scripts pass shellcheck -s sh", () => {
    for (const [what, cfg] of [
        ["k3s with registries and snapshots", baseConfig({ nodes: nodes(3, 1), registries: REGISTRIES, cluster: { etcdSnapshots: {} }, install: { sha256: { "install.sh": "a".repeat(64) } } })],
        ["k0s with registries and snapshots", k0s({ nodes: nodes(3, 1), registries: K0S_REGISTRIES, cluster: { etcdSnapshots: {} } })],
        ["kubeadm with a registration address and snapshots", baseConfig({ distribution: "kubeadm", version: "v1.36.3", traefik: { loadBalancer: "none" }, nodes: nodes(3, 1), cluster: { registrationAddress: "fd45:a71:55a6:1::100", etcdSnapshots: {} } })],
        ["kubeadm 1.36 with registries", baseConfig({ distribution: "kubeadm", version: "v1.36.3", traefik: { loadBalancer: "none" }, nodes: nodes(1, 1), registries: K0S_REGISTRIES })],
        ["kubeadm 1.35 with registries (containerd config version 2)", baseConfig({ distribution: "kubeadm", version: "v1.35.2", traefik: { loadBalancer: "none" }, nodes: nodes(1, 1), registries: K0S_REGISTRIES })],
    ] as const) {
        it(what, () => {
            const plan = planOf(cfg as ConfigInput);
            const dir = tempDir("dualstack-daytwo-sh");
            const arts = ({ k3s: k3sArtifacts, k0s: k0sArtifacts, kubeadm: kubeadmArtifacts }[plan.distribution](plan)).filter((a) => a.path.endsWith(".sh"));
            const files = arts.map((a, i) => {
                const f = path.join(dir, `${i}.sh`);
                fs.writeFileSync(f, a.content);
                return f;
            });
            // SC1001 is shell-quote escaping `:` in registry host names (as check-scripts.spec.ts excludes it).
            const r = spawnSync("shellcheck", ["-s", "sh", "-e", "SC1001", ...files], { encoding: "utf8" });
            if (r.error) assert.fail(`shellcheck could not run (${r.error.message}); install it: apt-get install -y shellcheck`);
            assert.equal(r.status, 0, r.stdout);
        });
    }
});

describe("README documents the day-two keys", () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
    const reference = readme.slice(readme.indexOf("## Configuration reference"), readme.indexOf("### Why each rule"));
    const why = readme.slice(readme.indexOf("### Why each rule"), readme.indexOf("## See what will be deployed"));
    for (const key of ["registries", "cluster.registrationAddress", "cluster.workerUpgradeBatch", "cluster.etcdSnapshots", "install.sha256"]) {
        it(`config reference: ${key}`, () => assert.ok(reference.includes(`| \`${key}\` |`), key));
    }
    for (const topic of ["registry endpoints", "insecure_skip_verify", "k0s: no `rewrite`", "registrationAddress", "k0s#5841", "install.sha256", "etcdSnapshots"]) {
        it(`why each rule: ${topic}`, () => assert.ok(why.includes(topic), topic));
    }
    it("restore procedures for both distributions", () => {
        assert.ok(readme.includes("--cluster-reset-restore-path") && readme.includes("k0s restore"));
    });
});
