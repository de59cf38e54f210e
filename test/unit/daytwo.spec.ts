// Day two: registry mirrors, the fixed registration address, pinned installers, upgrade batches
// and etcd snapshots. Table-driven tests of the pure rule modules and renderers, a real run of
// the installer checks with a download double, shellcheck, and the wiring under the mock runtime.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { batchEdges, upgradeBatches, workerBatchSize } from "../../components/batches";
import { installSha256Findings, k0sBinaryLines, k3sInstallerLines, k3sInstallerUrl, k0sReleaseUrl } from "../../components/installers";
import { k3sConfig } from "../../components/k3s/config";
import { artifacts as k3sArtifacts } from "../../components/k3s/render";
import { k0sConfig, createOnlySettings as k0sCreateOnly } from "../../components/k0s/k0sconfig";
import { artifacts as k0sArtifacts } from "../../components/k0s/render";
import { apiEndpoint, registrationFindings } from "../../components/registration";
import { endpointProblem, k0sRegistryFiles, registriesFindings, registriesSchema, renderK3sRegistries } from "../../components/registries";
import { cronToOnCalendar, etcdSnapshotFindings, k0sBackupUnits } from "../../components/snapshots";
import { script } from "../../components/shell";
import { baseConfig, ConfigInput, planOf, rawConfig, tryPlan } from "../support/configs";
import { runProgram, stringLeaves, transitiveDeps, unwrapSecrets } from "../support/program";

const PASSWORD = "s3cret-registry-passw0rd";
const REGISTRIES = {
    mirrors: {
        "docker.io": { endpoint: ["https://mirror.example.com:5000", "https://[fd45:a71:55a6:1::5]:5000"], rewrite: { "^rancher/(.*)": "mirrorproject/rancher-images/$1" } },
    },
    configs: {
        "mirror.example.com:5000": { auth: { username: "puller", password: PASSWORD }, tls: { ca_file: "/etc/ssl/mirror/ca.pem" } },
    },
};
const K0S_REGISTRIES = { mirrors: { "docker.io": { endpoint: REGISTRIES.mirrors["docker.io"].endpoint } }, configs: REGISTRIES.configs };

const cp = (i: number) => ({ name: `cp${i}`, host: `192.168.121.${10 + i}`, role: "control-plane", interface: "eth0" });
const wk = (i: number) => ({ name: `worker${i}`, host: `192.168.121.${100 + i}`, role: "worker", interface: "eth0" });
const nodes = (servers: number, workers: number) => [...Array.from({ length: servers }, (_, i) => cp(i + 1)), ...Array.from({ length: workers }, (_, i) => wk(i + 1))];
const k0s = (o: ConfigInput = {}) => baseConfig({ distribution: "k0s", version: "v1.36.3+k0s.2", ...o });
const errorsOf = (cfg: ConfigInput) => tryPlan(cfg).problems.errors;
const warningsOf = (cfg: ConfigInput) => tryPlan(cfg).problems.warnings;

describe("registries: rules", () => {
    const cases: [string, string, RegExp | undefined][] = [
        ["https URL", "https://mirror.example.com:5000", undefined],
        ["http URL with a path", "http://10.0.0.5:5000/v2", undefined],
        ["bracketed IPv6", "https://[fd45:a71:55a6:1::5]:5000", undefined],
        ["bare IPv6 literal", "https://fd45:a71:55a6:1::5:5000", /brackets/],
        ["not a URL", "mirror.example.com:5000", /is not a URL/],
        ["other scheme", "ftp://mirror.example.com", /scheme/],
        ["credentials in the URL", "https://user:pw@mirror.example.com", /credentials/],
        ["query", "https://mirror.example.com/?x=1", /query/],
    ];
    for (const [what, endpoint, want] of cases) {
        it(`endpoint: ${what}`, () => {
            const p = endpointProblem(endpoint);
            if (!want) assert.equal(p, undefined);
            else assert.match(p!.rule, want);
        });
    }

    it("the bare-IPv6 fix shows the bracketed form", () => {
        assert.match(endpointProblem("https://fd45:a71:55a6:1::5:5000")!.fix, /\[/);
    });

    it("refuses what k0s' containerd cannot do, and warns on insecure_skip_verify", () => {
        const reg = registriesSchema.parse({ mirrors: { "*": { endpoint: ["https://m.example.com"], rewrite: { "^a/(.*)": "b/$1" } } }, configs: { "m.example.com": { tls: { insecure_skip_verify: true } } } });
        const k0sF = registriesFindings(reg, { distribution: "k0s", minor: 36 });
        assert.ok(k0sF.errors.some((e) => /rewrite is a k3s extension/.test(e.rule)));
        assert.ok(k0sF.errors.some((e) => /wildcard/.test(e.rule)));
        const k3sF = registriesFindings(reg, { distribution: "k3s", minor: 33 });
        assert.equal(k3sF.errors.length, 0, JSON.stringify(k3sF.errors));
        assert.ok(k3sF.warnings.some((w) => w.key.endsWith("insecure_skip_verify") && /README/.test(w.rule)));
        assert.ok(registriesFindings(reg, { distribution: "k0s", minor: 26 }).errors.some((e) => /1\.27\.1/.test(e.rule)));
    });

    it("through the plan: every problem at once, with key, value, rule and fix, and the password never shown", () => {
        const errs = errorsOf(baseConfig({
            registries: {
                mirrors: { "docker.io": { endpoint: ["mirror.example.com", "https://m.example.com", "https://m.example.com"] } },
                configs: { "m.example.com": { auth: { username: "u", password: PASSWORD }, tls: { cert_file: "relative.pem" } } },
            },
        }));
        const keys = errs.map((e) => e.key);
        assert.ok(keys.includes("dualstack:registries.mirrors.docker.io.endpoint[0]"));
        assert.ok(keys.includes("dualstack:registries.mirrors.docker.io.endpoint"));
        assert.ok(keys.includes("dualstack:registries.configs.m.example.com.tls.cert_file"));
        assert.ok(keys.includes("dualstack:registries.configs.m.example.com.tls"));
        for (const e of errs) assert.ok(e.rule && e.fix, JSON.stringify(e));
        assert.ok(!JSON.stringify(errs).includes(PASSWORD));
    });
});

describe("registries: renderers", () => {
    it("k3s registries.yaml keeps the k3s shape (mirrors, rewrite, configs) in a stable order", () => {
        const text = renderK3sRegistries(registriesSchema.parse(REGISTRIES));
        const doc = parse(text);
        assert.deepEqual(doc.mirrors["docker.io"].endpoint, REGISTRIES.mirrors["docker.io"].endpoint);
        assert.equal(doc.mirrors["docker.io"].rewrite["^rancher/(.*)"], "mirrorproject/rancher-images/$1");
        assert.deepEqual(doc.configs["mirror.example.com:5000"], REGISTRIES.configs["mirror.example.com:5000"]);
        assert.equal(renderK3sRegistries(registriesSchema.parse(REGISTRIES)), text);
    });

    const shapes: [number, string, string][] = [
        [36, "version = 3", '[plugins."io.containerd.cri.v1.images".registry]'],
        [35, "version = 2", '[plugins."io.containerd.grpc.v1.cri".registry]'],
        [27, "version = 2", '[plugins."io.containerd.grpc.v1.cri".registry]'],
    ];
    for (const [minor, version, table] of shapes) {
        it(`k0s 1.${minor}: drop-in in containerd's ${version} shape, credentials only there, one hosts.toml per registry`, () => {
            const files = k0sRegistryFiles(registriesSchema.parse(K0S_REGISTRIES), minor);
            const dropIn = files.find((f) => f.path === "/etc/k0s/containerd.d/dualstack-registries.toml")!;
            assert.ok(dropIn.content.includes(version) && dropIn.content.includes(table));
            assert.ok(dropIn.content.includes('config_path = "/etc/k0s/containerd.d/certs.d"'));
            assert.ok(dropIn.secret && dropIn.content.includes(PASSWORD));
            const hosts = files.filter((f) => f.path.endsWith("/hosts.toml"));
            assert.deepEqual(hosts.map((f) => f.path), ["/etc/k0s/containerd.d/certs.d/docker.io/hosts.toml", "/etc/k0s/containerd.d/certs.d/mirror.example.com:5000/hosts.toml"]);
            const docker = hosts[0].content;
            assert.ok(docker.includes('server = "https://registry-1.docker.io"'));
            assert.ok(docker.includes('[host."https://mirror.example.com:5000"]') && docker.includes('[host."https://[fd45:a71:55a6:1::5]:5000"]'));
            assert.ok(docker.includes('ca = "/etc/ssl/mirror/ca.pem"'), "the mirror's TLS config applies to its host entry");
            for (const h of hosts) assert.ok(!h.secret && !h.content.includes(PASSWORD));
        });
    }
});

describe("registries: wiring", () => {
    it("k3s: every node's registries.yaml comes over stdin (secret), never in a script; render writes it", () => {
        const plan = planOf(baseConfig({ registries: REGISTRIES }));
        const arts = k3sArtifacts(plan);
        for (const n of plan.nodes) assert.ok(arts.some((a) => a.path === `nodes/${n.name}/etc/rancher/k3s/registries.yaml` && a.content.includes(PASSWORD)));
        for (const a of arts.filter((x) => x.path.endsWith(".sh"))) assert.ok(!a.content.includes(PASSWORD), a.path);
    });

    it("k3s under the mock runtime: one node at a time, before each install, stdin secret, password in no command", async () => {
        const r = await runProgram({ config: rawConfig(baseConfig({ nodes: nodes(3, 2), registries: REGISTRIES })), stackName: "reg", preview: true });
        const order = ["cp1", "cp2", "cp3", "worker1", "worker2"];
        order.forEach((n, i) => {
            const reg = r.byName(`cluster-${n}-registries`);
            assert.ok(reg.secretInputs.includes("stdin"), `${n}: stdin must be secret`);
            assert.ok(reg.deleteBeforeReplace);
            if (i > 0) assert.ok(transitiveDeps(r, reg).has(r.byName(`cluster-${order[i - 1]}-registries`).urn), `${n} waits for ${order[i - 1]}`);
            assert.ok(transitiveDeps(r, r.byName(`cluster-${n}-install`)).has(reg.urn), `${n}'s install waits for its registries`);
        });
        for (const res of r.resources) {
            for (const k of ["create", "update", "delete"]) assert.ok(!String(unwrapSecrets(res.inputs)[k] ?? "").includes(PASSWORD), `${res.name}.${k}`);
        }
    });

    it("k0s under the mock runtime: drop-in on stdin (secret), hosts.toml in the script; no registries step without the key", async () => {
        const r = await runProgram({ config: rawConfig(k0s({ registries: K0S_REGISTRIES })), stackName: "reg0", preview: true });
        const reg = r.byName("cluster-worker1-registries");
        assert.ok(reg.secretInputs.includes("stdin"));
        assert.ok(String(reg.inputs.create).includes("/etc/k0s/containerd.d/certs.d/docker.io/hosts.toml"));
        assert.ok(!stringLeaves(r.resources.map((x) => [x.inputs.create, x.inputs.update, x.inputs.delete])).some((s) => s.includes(PASSWORD)));
        const plain = await runProgram({ config: rawConfig(k0s()), stackName: "reg0", preview: true });
        assert.ok(!plain.resources.some((x) => x.name.endsWith("-registries")));
    });
});

describe("registration address", () => {
    const ctx = { distribution: "k3s" as const, primaryFamily: "IPv4" as const, clusterCidrs: ["10.42.0.0/16", "10.43.0.0/16", "fd00:42::/56"] };
    const cases: [string, string, "k3s" | "k0s", RegExp | undefined, RegExp | undefined][] = [
        ["IPv4 VIP", "192.168.121.100", "k3s", undefined, undefined],
        ["IPv6 VIP on k3s", "fd45:a71:55a6:1::100", "k3s", undefined, undefined],
        ["DNS name", "api.example.com", "k3s", undefined, undefined],
        ["IPv6 VIP on k0s with IPv4 primary", "fd45:a71:55a6:1::100", "k0s", /k0s#5841/, undefined],
        ["DNS name on k0s", "api.example.com", "k0s", undefined, /k0s#5841/],
        ["brackets", "[fd45::100]", "k3s", /bare address/, undefined],
        ["URL", "https://api.example.com:6443", "k3s", /bare address/, undefined],
        ["loopback", "127.0.0.1", "k3s", /loopback/, undefined],
        ["link-local", "fe80::1", "k3s", /link-local/, undefined],
        ["inside the service CIDR", "10.43.0.50", "k3s", /cluster network/, undefined],
        ["garbage", "not a host!", "k3s", /neither/, undefined],
    ];
    for (const [what, address, distribution, error, warning] of cases) {
        it(`${what}: ${address} on ${distribution}`, () => {
            const f = registrationFindings(address, { ...ctx, distribution });
            if (error) assert.ok(f.errors.some((e) => error.test(e.rule)), JSON.stringify(f.errors));
            else assert.deepEqual(f.errors, []);
            if (warning) assert.ok(f.warnings.some((w) => warning.test(w.rule)));
        });
    }

    it("endpoint: SANs gain it, kubeconfig and agents use it (IPv6 in brackets), servers join the first server", () => {
        const e = apiEndpoint("192.168.121.11", 6443, ["192.168.121.11"], "fd45:a71:55a6:1:0::100");
        assert.equal(e.url, "https://[fd45:a71:55a6:1::100]:6443");
        assert.equal(e.bootstrapUrl, "https://192.168.121.11:6443");
        assert.deepEqual(e.sans, ["192.168.121.11", "fd45:a71:55a6:1::100"]);
        assert.equal(apiEndpoint("192.168.121.11", 6443, ["192.168.121.11"]).bootstrapUrl, undefined);
    });

    it("k3s config: tls-san on every server, agents join the address, servers the first server", () => {
        const plan = planOf(baseConfig({ nodes: nodes(3, 1), cluster: { registrationAddress: "api.example.com" } }));
        for (const n of plan.nodes) {
            const c = k3sConfig(plan, n);
            if (n.role === "control-plane") assert.ok((c["tls-san"] as string[]).includes("api.example.com"));
            if (n.name === "cp1") assert.equal(c.server, undefined);
            else assert.equal(c.server, n.role === "worker" ? "https://api.example.com:6443" : "https://192.168.121.11:6443");
        }
        assert.equal(plan.api.url, "https://api.example.com:6443");
    });

    it("k0s config: externalAddress + sans; a change replaces the nodes (their tokens named the old one)", () => {
        const plan = planOf(k0s({ nodes: nodes(1, 1), cluster: { registrationAddress: "192.168.121.100" } }));
        const api = (k0sConfig(plan, plan.controlPlanes[0]).spec as any).api;
        assert.equal(api.externalAddress, "192.168.121.100");
        assert.ok(api.sans.includes("192.168.121.100"));
        assert.ok(k0sCreateOnly(plan, plan.workers[0]).includes("registrationAddress=192.168.121.100"));
        assert.ok(errorsOf(k0s({ cluster: { registrationAddress: "fd45:a71:55a6:1::100" } })).some((e) => e.key === "dualstack:cluster.registrationAddress"));
    });

    it("the kubeconfig output points at the registration address", async () => {
        const r = await runProgram({ config: rawConfig(baseConfig({ cluster: { registrationAddress: "fd45:a71:55a6:1::100" } })), stackName: "reg", preview: false });
        assert.equal(r.outputs.apiServer, "https://[fd45:a71:55a6:1::100]:6443");
    });
});

describe("pinned installers", () => {
    it("URLs name the tag (its + encoded), never get.k3s.io / get.k0s.sh", () => {
        assert.equal(k3sInstallerUrl("v1.33.5+k3s1"), "https://raw.githubusercontent.com/k3s-io/k3s/v1.33.5%2Bk3s1/install.sh");
        assert.equal(k0sReleaseUrl("v1.36.3+k0s.2", "k0s-v1.36.3+k0s.2-arm64"), "https://github.com/k0sproject/k0s/releases/download/v1.36.3%2Bk0s.2/k0s-v1.36.3%2Bk0s.2-arm64");
    });

    const sha = "a".repeat(64);
    const cases: [string, "k3s" | "k0s", "script" | "airgap", Record<string, string>, RegExp | undefined][] = [
        ["k3s install.sh", "k3s", "script", { "install.sh": sha }, undefined],
        ["k0s amd64 binary", "k0s", "script", { "k0s-v1.36.3+k0s.2-amd64": sha }, undefined],
        ["k0s binary of another version", "k0s", "script", { "k0s-v1.35.1+k0s.0-amd64": sha }, /names no file/],
        ["not a digest", "k3s", "script", { "install.sh": "abc" }, /SHA-256/],
        ["uppercase digest", "k3s", "script", { "install.sh": sha.toUpperCase() }, /SHA-256/],
        ["with airgap", "k3s", "airgap", { "install.sh": sha }, /airgap/],
    ];
    for (const [what, dist, source, pins, want] of cases) {
        it(`install.sha256: ${what}`, () => {
            const f = installSha256Findings(dist, dist === "k3s" ? "v1.33.5+k3s1" : "v1.36.3+k0s.2", source, pins);
            if (want) assert.ok(f.errors.some((e) => want.test(e.rule)), JSON.stringify(f.errors));
            else assert.deepEqual(f.errors, []);
        });
    }

    /** Runs `lines` with a download double on PATH that writes `body` for any URL. */
    function runWithDownload(lines: string[], body: string, sums?: string): { status: number | null; stderr: string; dir: string } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dualstack-dl-"));
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        // TEST DOUBLE of curl: `-o FILE URL`; the checksum file gets `sums`, anything else `body`.
        fs.writeFileSync(path.join(bin, "curl"), `#!/bin/sh\nout=""; url=""\nwhile [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift ;; https://*) url="$1" ;; esac; shift; done\ncase "$url" in *sha256sums.txt) cat "${dir}/sums" > "$out" ;; *) printf '%s' "$BODY" > "$out" ;; esac\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "sums"), sums ?? "");
        const res = spawnSync("sh", ["-c", script(...lines)], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, BODY: body } });
        return { status: res.status, stderr: res.stderr, dir };
    }
    const digest = (s: string) => require("node:crypto").createHash("sha256").update(s).digest("hex");

    it("k3s: a pinned install.sh that does not match fails clearly before it runs; a match runs", () => {
        const good = "echo installer-ran";
        const ran = (pin: string) => runWithDownload([...k3sInstallerLines("v1.33.5+k3s1", { "install.sh": pin }), 'sh "$installer"'], good);
        const bad = ran(digest("something else"));
        assert.notEqual(bad.status, 0);
        assert.match(bad.stderr, /install.sh of k3s v1.33.5\+k3s1 has sha256 .*, expected .*nothing was installed/);
        assert.equal(ran(digest(good)).status, 0);
    });

    it("k0s: the binary must match the release's sha256sums.txt and the pin; only then is it moved into place", () => {
        const bin = "#!/bin/sh\necho v1.36.3+k0s.2\n";
        const arch = ({ x64: "amd64", arm64: "arm64", arm: "arm" } as Record<string, string>)[os.arch()];
        if (!arch) return;
        const asset = `k0s-v1.36.3+k0s.2-${arch}`;
        const run = (sums: string, pins: Record<string, string> = {}) => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dualstack-k0s-"));
            const dest = path.join(dir, "k0s");
            const r = runWithDownload(k0sBinaryLines("v1.36.3+k0s.2", pins, dest), bin, sums);
            return { ...r, installed: fs.existsSync(dest) };
        };
        const ok = run(`${digest(bin)} *${asset}\n`);
        assert.equal(ok.status, 0, ok.stderr);
        assert.ok(ok.installed);
        const tampered = run(`${digest("other")} *${asset}\n`);
        assert.ok(tampered.status !== 0 && !tampered.installed && /release sha256sums.txt/.test(tampered.stderr));
        const unlisted = run(`${digest(bin)} *k0s-v1.36.3+k0s.2-other\n`);
        assert.ok(unlisted.status !== 0 && !unlisted.installed && /not listed/.test(unlisted.stderr));
        const pinned = run(`${digest(bin)} *${asset}\n`, { [asset]: digest("other") });
        assert.ok(pinned.status !== 0 && !pinned.installed && /install.sha256/.test(pinned.stderr));
    });
});

describe("worker upgrade batches (10% of the workers, at least 1, as k0sctl)", () => {
    const sizes: [number, number | undefined, number][] = [
        [0, undefined, 1], [1, undefined, 1], [9, undefined, 1], [10, undefined, 1], [19, undefined, 1], [20, undefined, 2], [25, undefined, 2], [100, undefined, 10],
        [10, 3, 3], [2, 5, 2],
    ];
    for (const [workers, configured, want] of sizes) {
        it(`${workers} workers${configured ? `, workerUpgradeBatch ${configured}` : ""}: batches of ${want}`, () => assert.equal(workerBatchSize(workers, configured), want));
    }

    it("batches keep the order and each batch waits for the whole previous one", () => {
        const names = Array.from({ length: 25 }, (_, i) => `w${i + 1}`);
        const batches = upgradeBatches(names, workerBatchSize(names.length));
        assert.deepEqual(batches.map((b) => b.length), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]);
        assert.deepEqual(batches.flat(), names);
        const edges = batchEdges(upgradeBatches(["a", "b", "c", "d", "e"], 2));
        assert.deepEqual(edges, [["c", "a"], ["c", "b"], ["d", "a"], ["d", "b"], ["e", "c"], ["e", "d"]]);
        assert.throws(() => upgradeBatches(names, 0));
    });
});

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
        assert.ok(etcdSnapshotFindings({ schedule: "0 */12 * * *", retention: 5 }, { distribution: "k3s", controlPlanes: 1 }).errors.some((e) => /embedded etcd/.test(e.rule)));
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

describe("day-two scripts pass shellcheck -s sh", () => {
    for (const [what, cfg] of [
        ["k3s with registries and snapshots", baseConfig({ nodes: nodes(3, 1), registries: REGISTRIES, cluster: { etcdSnapshots: {} }, install: { sha256: { "install.sh": "a".repeat(64) } } })],
        ["k0s with registries and snapshots", k0s({ nodes: nodes(3, 1), registries: K0S_REGISTRIES, cluster: { etcdSnapshots: {} } })],
    ] as const) {
        it(what, () => {
            const plan = planOf(cfg as ConfigInput);
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dualstack-daytwo-sh-"));
            const arts = (plan.distribution === "k3s" ? k3sArtifacts(plan) : k0sArtifacts(plan)).filter((a) => a.path.endsWith(".sh"));
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
