// dualstack:registries: table-driven rules, the k3s and k0s renderers, and the wiring under the mock runtime.
import * as assert from "node:assert/strict";
import { parse } from "yaml";
import { artifacts as k3sArtifacts } from "../../components/k3s/render";
import { profileOf } from "../../components/distributions";
import { endpointProblem, k0sRegistryFiles, registriesFindings, registriesSchema, renderK3sRegistries } from "../../components/registries";
import { baseConfig, planOf, rawConfig } from "../support/configs";
import { runProgram, stringLeaves, transitiveDeps, unwrapSecrets } from "../support/program";
import { PASSWORD, REGISTRIES, K0S_REGISTRIES, nodes, k0s, errorsOf } from "../support/daytwo";

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
        const k0sF = registriesFindings(reg, { profile: profileOf("k0s").dayTwo.registries, minor: 36 });
        assert.ok(k0sF.errors.some((e) => /rewrite is a k3s extension/.test(e.rule)));
        assert.ok(k0sF.errors.some((e) => /wildcard/.test(e.rule)));
        const k3sF = registriesFindings(reg, { profile: profileOf("k3s").dayTwo.registries, minor: 33 });
        assert.equal(k3sF.errors.length, 0, JSON.stringify(k3sF.errors));
        assert.ok(k3sF.warnings.some((w) => w.key.endsWith("insecure_skip_verify") && /README/.test(w.rule)));
        assert.ok(registriesFindings(reg, { profile: profileOf("k0s").dayTwo.registries, minor: 26 }).errors.some((e) => /1\.27\.1/.test(e.rule)));
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
    it("write and delete restart the node's own runtime only when it runs, and wait until it is back", () => {
        const plan = planOf(baseConfig({ registries: REGISTRIES }));
        for (const [n, unit] of [["cp1", "k3s"], ["worker1", "k3s-agent"]] as const) {
            const steps = k3sArtifacts(plan).filter((a) => a.path.startsWith(`nodes/${n}/scripts/k3s-registries-`));
            assert.equal(steps.length, 2, n);
            for (const s of steps) {
                assert.ok(s.content.includes(`systemctl is-active --quiet ${unit} 2>/dev/null; then`) && s.content.includes(`systemctl restart ${unit}\n`), `${s.path}`);
                assert.ok(s.content.includes("deadline="), `${s.path} waits with a deadline`);
            }
        }
    });

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

    it("kubeadm under the mock runtime: one node at a time after its prep and before its install, drop-in on stdin (secret), password in no command", async () => {
        const cfg = baseConfig({ distribution: "kubeadm", version: "v1.36.3", traefik: { loadBalancer: "none" }, nodes: nodes(2, 2), registries: K0S_REGISTRIES });
        const r = await runProgram({ config: rawConfig(cfg), stackName: "regk", preview: true });
        const order = ["cp1", "cp2", "worker1", "worker2"];
        order.forEach((n, i) => {
            const reg = r.byName(`cluster-${n}-registries`);
            assert.ok(reg.secretInputs.includes("stdin"), `${n}: stdin must be secret`);
            assert.ok(unwrapSecrets(reg.inputs).stdin.includes(PASSWORD), `${n}: the drop-in arrives on stdin`);
            assert.ok(reg.deleteBeforeReplace);
            assert.ok(String(reg.inputs.create).includes("/etc/containerd/certs.d/docker.io/hosts.toml"));
            assert.ok(transitiveDeps(r, reg).has(r.byName(`cluster-${n}-prep`).urn), `${n}: after its prep`);
            if (i > 0) assert.ok(transitiveDeps(r, reg).has(r.byName(`cluster-${order[i - 1]}-registries`).urn), `${n} waits for ${order[i - 1]}`);
            assert.ok(transitiveDeps(r, r.byName(`cluster-${n}-install`)).has(reg.urn), `${n}'s install waits for its registries`);
        });
        assert.ok(!stringLeaves(r.resources.map((x) => [x.inputs.create, x.inputs.update, x.inputs.delete])).some((s) => s.includes(PASSWORD)));
    });
});
