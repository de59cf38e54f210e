// dualstack:registries on kubeadm: the host containerd's drop-in and hosts.toml files, the edit of
// config.toml's `imports` (run with the real awk on sample files, table-driven), and the step order.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { artifacts } from "../../../components/kubeadm/render";
import { configVersionCheckLines, containerdImportAddLines, containerdImportRemoveLines, CONTAINERD_REGISTRY_DROPIN, registriesCreateScript, registriesDeleteScript, registryFiles } from "../../../components/kubeadm/registries";
import { kubeadmSteps, REGISTRIES_SECRET } from "../../../components/kubeadm/steps";
import { k0sRegistryFiles, registriesSchema } from "../../../components/registries";
import { ClusterSteps, CommandStep, hostPrepOf, stepById } from "../../../components/steps";
import { baseConfig, ConfigInput, planOf } from "../../support/configs";
import { errorsOf, K0S_REGISTRIES, nodes, PASSWORD, REGISTRIES } from "../../support/daytwo";
import { assertListedAfterWhatItWaitsFor } from "../../support/steps";
import { tempDir } from "../../support/tmp";

const kubeadm = (o: ConfigInput = {}) => baseConfig({ distribution: "kubeadm", version: "v1.36.3", traefik: { loadBalancer: "none" }, nodes: nodes(2, 2), ...o });
const plan = (o: ConfigInput = {}) => planOf(kubeadm(o));
const afterOf = (s: ClusterSteps, id: string) => stepById(s, id).after;
const cmd = (s: ClusterSteps, id: string) => stepById(s, id) as CommandStep;

/** Runs `lines` with sh in a scratch directory; returns stdout, stderr and the exit status. */
function sh(lines: string[]): { stdout: string; stderr: string; status: number | null } {
    const r = spawnSync("sh", ["-c", ["set -eu", "changed=false", ...lines, 'echo "changed=$changed"'].join("\n")], { encoding: "utf8" });
    return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe("kubeadm/registries: files", () => {
    const shapes: [string, string, string][] = [
        ["v1.36.3", "version = 3", '[plugins."io.containerd.cri.v1.images".registry]'],
        ["v1.35.2", "version = 2", '[plugins."io.containerd.grpc.v1.cri".registry]'],
        ["v1.30.0", "version = 2", '[plugins."io.containerd.grpc.v1.cri".registry]'],
    ];
    for (const [version, configVersion, table] of shapes) {
        it(`${version}: drop-in in containerd's ${configVersion} shape under /etc/containerd/conf.d, config_path one directory, credentials only there`, () => {
            const files = registryFiles(plan({ version, registries: K0S_REGISTRIES }));
            const dropIn = files.find((f) => f.path === CONTAINERD_REGISTRY_DROPIN)!;
            assert.equal(CONTAINERD_REGISTRY_DROPIN, "/etc/containerd/conf.d/dualstack-registries.toml");
            const lines = dropIn.content.split("\n");
            assert.ok(lines.includes(configVersion) && lines.includes(table), dropIn.content);
            // One directory: containerd 2's default list is taken literally by transfer-service pulls.
            assert.ok(lines.includes('config_path = "/etc/containerd/certs.d"'), dropIn.content);
            assert.ok(dropIn.content.includes(`${table.slice(0, -1)}.configs."mirror.example.com:5000".auth]`));
            assert.ok(dropIn.secret && dropIn.content.includes(PASSWORD));
            const hosts = files.filter((f) => f.path.endsWith("/hosts.toml"));
            assert.deepEqual(hosts.map((f) => f.path), ["/etc/containerd/certs.d/docker.io/hosts.toml", "/etc/containerd/certs.d/mirror.example.com:5000/hosts.toml"]);
            for (const h of hosts) assert.ok(!h.secret && !h.content.includes(PASSWORD), h.path);
        });
    }

    it("hosts.toml files are k0s' renderer's, byte for byte (one renderer)", () => {
        const reg = registriesSchema.parse(K0S_REGISTRIES);
        const k0sHosts = k0sRegistryFiles(reg, 36).filter((f) => f.path.endsWith("/hosts.toml"));
        const kubeadmHosts = registryFiles(plan({ registries: K0S_REGISTRIES })).filter((f) => f.path.endsWith("/hosts.toml"));
        assert.deepEqual(kubeadmHosts.map((f) => f.content), k0sHosts.map((f) => f.content));
    });

    it("without credentials the drop-in is no secret and is embedded in the script; no registries, no files", () => {
        const mirrorsOnly = { mirrors: K0S_REGISTRIES.mirrors };
        const p = plan({ registries: mirrorsOnly });
        assert.ok(!registryFiles(p).some((f) => f.secret));
        assert.ok(registriesCreateScript(p, p.nodes[0]).includes("config_path = \"/etc/containerd/certs.d\""));
        assert.deepEqual(registryFiles(plan()), []);
    });

    it("the profile takes registries and refuses only what hosts.toml cannot say (rewrite, the * mirror)", () => {
        assert.deepEqual(errorsOf(kubeadm({ registries: K0S_REGISTRIES })), []);
        const errs = errorsOf(kubeadm({ registries: { mirrors: { ...REGISTRIES.mirrors, "*": { endpoint: ["https://m.example.com"] } } } }));
        assert.ok(errs.some((e) => e.key === "dualstack:registries.mirrors.docker.io.rewrite" && /rewrite/.test(e.rule)), JSON.stringify(errs));
        assert.ok(errs.some((e) => e.key === "dualstack:registries.mirrors.*" && /wildcard/.test(e.rule)), JSON.stringify(errs));
        assert.ok(!errs.some((e) => /not supported/.test(e.rule)));
        // No day-two key is refused on kubeadm any more: its workers upgrade in batches too.
        assert.deepEqual(errorsOf(kubeadm({ cluster: { workerUpgradeBatch: 1 } })), []);
    });
});

describe("kubeadm/registries: config.toml imports (the rendered awk on sample files)", () => {
    const E = `"${CONTAINERD_REGISTRY_DROPIN}"`;
    const cases: [string, string, string][] = [
        ["containerd 2's default (imports = [])", "version = 3\nimports = []\n\n[plugins]\n", `version = 3\nimports = [${E}, ]\n\n[plugins]\n`],
        ["an import glob of the host's", "version = 3\nimports = ['/etc/containerd/conf.d/*.toml']\n[grpc]\n", `version = 3\nimports = [${E}, '/etc/containerd/conf.d/*.toml']\n[grpc]\n`],
        ["a multi-line imports array", "version = 3\nimports = [\n  '/a.toml',\n]\n[grpc]\n", `version = 3\nimports = [${E}, \n  '/a.toml',\n]\n[grpc]\n`],
        ["no imports: a line before the first table", "# comment\nversion = 3\n\n[plugins.'io.containerd.cri.v1.images'.registry]\n  config_path = ''\n", `# comment\nversion = 3\n\n${"imports = [" + E + "]"}\n[plugins.'io.containerd.cri.v1.images'.registry]\n  config_path = ''\n`],
        ["no imports and no table", "version = 3\n", `version = 3\nimports = [${E}]\n`],
        ["a commented-out entry imports nothing", `version = 3\n# imports = [${E}]\n[plugins]\n`, `version = 3\n# imports = [${E}]\nimports = [${E}]\n[plugins]\n`],
        ["an `imports` key inside a table is not the root's", "version = 3\n[x]\nimports = ['/b.toml']\n", `version = 3\nimports = [${E}]\n[x]\nimports = ['/b.toml']\n`],
    ];
    let dir: string;
    before(() => (dir = tempDir("kubeadm-imports")));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const [what, original, added] of cases) {
        it(`${what}: added once (a second run changes nothing), removed back to the byte`, () => {
            const cfg = path.join(dir, "config.toml");
            fs.writeFileSync(cfg, original, { mode: 0o644 });
            const ino = fs.statSync(cfg).ino;
            const first = sh(containerdImportAddLines(cfg));
            assert.equal(first.status, 0, first.stderr);
            assert.equal(first.stdout, "changed=true\n");
            assert.equal(fs.readFileSync(cfg, "utf8"), added);
            assert.equal(sh(containerdImportAddLines(cfg)).stdout, "changed=false\n");
            assert.equal(fs.readFileSync(cfg, "utf8"), added);
            const removed = sh(containerdImportRemoveLines(cfg));
            assert.equal(removed.stdout, "changed=true\n", removed.stderr);
            assert.equal(fs.readFileSync(cfg, "utf8"), original);
            assert.equal(sh(containerdImportRemoveLines(cfg)).stdout, "changed=false\n");
            // Rewritten in place: the host's file keeps its inode and mode.
            assert.equal(fs.statSync(cfg).ino, ino);
            assert.equal(fs.statSync(cfg).mode & 0o777, 0o644);
            assert.ok(!fs.existsSync(`${cfg}.dualstack-new`));
        });
    }

    const versions: [string, 2 | 3, string, boolean][] = [
        ["v1.36.3", 3, "version = 3\n", true],
        ["v1.36.3", 3, "version = 2\n", false],
        ["v1.36.3", 3, "[plugins]\n", false],
        ["v1.35.2", 2, "version = 2\n", true],
        ["v1.35.2", 2, "version = 3\n", true],
        ["v1.35.2", 2, "[plugins]\n", false],
    ];
    for (const [version, dropIn, config, ok] of versions) {
        it(`${version} (drop-in version ${dropIn}), config.toml ${JSON.stringify(config.split("\n")[0])}: ${ok ? "written" : "stopped before anything is written, with the fix"}`, () => {
            const cfg = path.join(dir, "config.toml");
            fs.writeFileSync(cfg, config);
            const p = plan({ version });
            const r = sh(configVersionCheckLines(p, p.nodes[0], cfg));
            assert.equal(r.status === 0, ok, r.stderr);
            if (!ok) assert.match(r.stderr, new RegExp(`registry drop-in is version ${dropIn}.*Fix: migrate`));
        });
    }

    it("a missing config.toml stops the step and names the prep step", () => {
        const p = plan();
        const r = sh(configVersionCheckLines(p, p.nodes[0], path.join(dir, "absent.toml")));
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /host preparation/);
    });
});

describe("kubeadm/registries: steps", () => {
    const s = kubeadmSteps(plan({ registries: K0S_REGISTRIES }));

    it("every node: after its prep, chained control planes first then workers, before its install", () => {
        assertListedAfterWhatItWaitsFor(s);
        assert.deepEqual(afterOf(s, "cp1-registries"), [hostPrepOf("cp1"), "cp1-prep"]);
        assert.deepEqual(afterOf(s, "cp2-registries"), [hostPrepOf("cp2"), "cp2-prep", "cp1-registries"]);
        assert.deepEqual(afterOf(s, "worker1-registries"), [hostPrepOf("worker1"), "worker1-prep", "cp2-registries"]);
        assert.deepEqual(afterOf(s, "worker2-registries"), [hostPrepOf("worker2"), "worker2-prep", "worker1-registries"]);
        for (const n of ["cp1", "cp2", "worker1", "worker2"]) assert.ok(afterOf(s, `${n}-install`).includes(`${n}-registries`), n);
        // Workers still join in parallel: no worker's install waits for another worker's install.
        assert.ok(!afterOf(s, "worker2-install").includes("worker1-install"));
    });

    it("credentials on stdin (a secret input), never in a script; update rewrites, delete removes; replaced before re-created", () => {
        for (const n of ["cp1", "worker2"]) {
            const step = cmd(s, `${n}-registries`);
            assert.deepEqual(step.stdin, { secret: REGISTRIES_SECRET });
            assert.equal(step.secret, "stdin");
            assert.equal(step.update, step.create);
            assert.ok(step.deleteBeforeReplace);
            for (const script of [step.create, step.update, step.delete]) assert.ok(!String(script).includes(PASSWORD), n);
        }
    });

    it("a change restarts containerd (when it runs) and waits: for the API on a control plane that has joined, for containerd on a worker", () => {
        const p = plan({ registries: K0S_REGISTRIES });
        for (const script of [registriesCreateScript(p, p.nodes[0]), registriesDeleteScript(p, p.nodes[0])]) {
            assert.ok(script.includes('if [ "$changed" = true ] && systemctl is-active --quiet containerd 2>/dev/null; then') && script.includes("systemctl restart containerd\n"));
            assert.ok(script.includes("until ctr version >/dev/null 2>&1 && { [ ! -f /etc/kubernetes/admin.conf ] || kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw /readyz"));
        }
        const worker = registriesCreateScript(p, p.nodes[3]);
        assert.ok(worker.includes("until ctr version >/dev/null 2>&1; do"));
        // The import goes in after the files and out before them: containerd never imports a missing file.
        const create = registriesCreateScript(p, p.nodes[0]);
        assert.ok(create.indexOf("awk -v e=") > create.indexOf(`> ${CONTAINERD_REGISTRY_DROPIN}.dualstack-new`));
        const del = registriesDeleteScript(p, p.nodes[0]);
        assert.ok(del.indexOf("awk -v e=") < del.indexOf('rm -f "$old"'));
        assert.ok(del.includes("rmdir /etc/containerd/certs.d /var/lib/dualstack 2>/dev/null || true"));
    });

    it("render writes each node's registry files (the drop-in with its password placeholder or value) beside the scripts", () => {
        const arts = artifacts(plan({ registries: K0S_REGISTRIES }));
        for (const n of ["cp1", "worker2"]) {
            assert.ok(arts.some((a) => a.path === `nodes/${n}/etc/containerd/conf.d/dualstack-registries.toml`));
            assert.ok(arts.some((a) => a.path === `nodes/${n}/etc/containerd/certs.d/docker.io/hosts.toml`));
            assert.ok(arts.some((a) => a.path === `nodes/${n}/scripts/kubeadm-registries-create.sh`));
        }
        for (const a of arts.filter((x) => x.path.endsWith(".sh"))) assert.ok(!a.content.includes(PASSWORD), a.path);
        assert.ok(!artifacts(plan()).some((a) => a.path.includes("registries")));
    });
});
