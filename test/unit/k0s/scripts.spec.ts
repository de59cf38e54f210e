// K0sCluster's pure core: k0s.yaml, install flags, scripts, and the shared kube.ts helpers.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as fc from "fast-check";
import { parse } from "yaml";
import { artifacts } from "../../../components/k0s/render";
import { createOnlySettings, isSingleNode, k0sConfig, renderK0sYaml, runsKubelet } from "../../../components/k0s/k0sconfig";
import {
    drainScript,
    installArgs,
    installScript,
    joinWaitScript,
    K0S_INSTALL_ARGS_FILE,
    K0S_TOKEN_FILE,
    kubeletExtraArgs,
    resetScript,
    tokenCreateScript,
    upgradeScript,
} from "../../../components/k0s/scripts";
import { calicoCleanupLines, rewriteKubeconfigServer, waitUntil } from "../../../components/kube";
import type { Plan, PlannedNode } from "../../../components/plan";
import { script } from "../../../components/shell";
import { baseConfig, ConfigInput, planOf, tryPlan } from "../../support/configs";
import { requireShellcheck, shellcheck } from "../../support/shellcheck";
import { tempDir } from "../../support/tmp";

const K0S = { distribution: "k0s", version: "v1.36.3+k0s.2", traefik: { loadBalancer: "none" } };
const NET = baseConfig().network as Record<string, unknown>;

function k0sPlan(overrides: ConfigInput = {}): Plan {
    return planOf(baseConfig({ ...K0S, ...overrides }));
}

const cp = (i: number, o: ConfigInput = {}) => ({ name: `cp${i}`, host: `192.168.121.${10 + i}`, role: "control-plane", interface: "eth0", ...o });
const wk = (i: number, o: ConfigInput = {}) => ({ name: `worker${i}`, host: `192.168.121.${100 + i}`, role: "worker", interface: "eth0", ...o });
const nodes = (controllers: number, workers: number) => [
    ...Array.from({ length: controllers }, (_, i) => cp(i + 1)),
    ...Array.from({ length: workers }, (_, i) => wk(i + 1)),
];

const ipv6Primary = {
    network: { ...NET, podCidrs: ["fd45:a71:55a6:4200::/56", "10.42.0.0/16"], serviceCidrs: ["fd45:a71:55a6:43::/112", "10.43.0.0/16"] },
};

function yamlOf(plan: Plan, node: PlannedNode = plan.firstControlPlane): any {
    return parse(renderK0sYaml(plan, node));
}

describe("k0s: /etc/k0s/k0s.yaml", () => {
    it("is a k0s ClusterConfig with the dual-stack network in k0s' own (odd) key casing", () => {
        const plan = k0sPlan();
        const text = renderK0sYaml(plan, plan.firstControlPlane);
        const doc = parse(text);
        assert.equal(doc.apiVersion, "k0s.k0sproject.io/v1beta1");
        assert.equal(doc.kind, "ClusterConfig");
        assert.equal(doc.metadata.name, "k0s");
        const n = doc.spec.network;
        assert.equal(n.podCIDR, plan.podCidrs.ipv4);
        assert.equal(n.serviceCIDR, plan.serviceCidrs.ipv4);
        assert.equal(n.primaryAddressFamily, "IPv4");
        // JSON tags of pkg/apis/k0s/v1beta1/dualstack.go and calico.go, exactly.
        assert.deepEqual(Object.keys(n.dualStack).sort(), ["IPv6podCIDR", "IPv6serviceCIDR", "enabled"]);
        assert.deepEqual(n.dualStack, { enabled: true, IPv6podCIDR: plan.podCidrs.ipv6, IPv6serviceCIDR: plan.serviceCidrs.ipv6 });
        for (const key of ["IPv6podCIDR:", "IPv6serviceCIDR:", "ipV6AutodetectionMethod:", "ipAutodetectionMethod:", "podCIDR:", "serviceCIDR:"]) {
            assert.ok(text.includes(key), `k0s.yaml lacks ${key}`);
        }
        for (const wrong of ["IPv6PodCIDR", "ipv6PodCIDR", "IPv6ServiceCIDR", "ipv6AutodetectionMethod", "IPv6AutodetectionMethod", "podCidr"]) {
            assert.ok(!text.includes(wrong), `k0s.yaml has the mis-cased key ${wrong}`);
        }
    });

    it("k0s-managed Calico: provider calico, mode bird, both autodetection methods explicit", () => {
        const plan = k0sPlan();
        assert.equal(plan.calico.managedBy, "k0s");
        const n = yamlOf(plan).spec.network;
        assert.equal(n.provider, "calico");
        assert.equal(n.calico.mode, "bird");
        assert.equal(n.calico.ipAutodetectionMethod, plan.autodetection.ipv4Method);
        // Never empty: k0s would copy the IPv4 method into IP6_AUTODETECTION_METHOD.
        assert.equal(n.calico.ipV6AutodetectionMethod, plan.autodetection.ipv6Method);
        assert.match(n.calico.ipV6AutodetectionMethod, /^cidr=fd45:a71:55a6:1::\/64$/);
        assert.deepEqual(n.calico.envVars, { CALICO_IPV4POOL_BLOCK_SIZE: "26", CALICO_IPV6POOL_BLOCK_SIZE: "122", CALICO_IPV6POOL_NAT_OUTGOING: "true" });
    });

    it("operator-managed Calico: provider custom and no calico block", () => {
        const plan = k0sPlan({ network: { ...NET, provider: "custom" }, calico: { mode: "vxlan" } });
        assert.equal(plan.calico.managedBy, "operator");
        const n = yamlOf(plan).spec.network;
        assert.equal(n.provider, "custom");
        assert.equal(n.calico, undefined);
        assert.deepEqual(n.dualStack.enabled, true);
    });

    const overlays: [string, string][] = [
        ["IPIP", "Always"],
        ["IPIPCrossSubnet", "CrossSubnet"],
        ["None", "Never"],
    ];
    for (const [enc, overlay] of overlays) {
        it(`IPv4 encapsulation ${enc} becomes calico.overlay ${overlay}`, () => {
            const plan = k0sPlan({ calico: { mode: "bird", encapsulation: { ipv4: enc } } });
            assert.equal(yamlOf(plan).spec.network.calico.overlay, overlay);
        });
    }

    it("carries calico.ipv6NatOutgoing and block sizes into calico-node's env", () => {
        const plan = k0sPlan({ calico: { ipv6NatOutgoing: false, blockSizes: { ipv4: 24, ipv6: 120 } } });
        assert.deepEqual(yamlOf(plan).spec.network.calico.envVars, { CALICO_IPV4POOL_BLOCK_SIZE: "24", CALICO_IPV6POOL_BLOCK_SIZE: "120", CALICO_IPV6POOL_NAT_OUTGOING: "false" });
    });

    it("IPv6-primary: primaryAddressFamily IPv6, IPv4 still in podCIDR/serviceCIDR, API on the IPv6 address", () => {
        const plan = k0sPlan(ipv6Primary);
        const doc = yamlOf(plan);
        assert.equal(doc.spec.network.primaryAddressFamily, "IPv6");
        assert.equal(doc.spec.network.podCIDR, "10.42.0.0/16");
        assert.equal(doc.spec.network.serviceCIDR, "10.43.0.0/16");
        assert.equal(doc.spec.network.dualStack.IPv6podCIDR, "fd45:a71:55a6:4200::/56");
        assert.equal(doc.spec.api.address, plan.firstControlPlane.ipv6);
        assert.equal(doc.spec.storage.etcd.peerAddress, plan.firstControlPlane.ipv6);
    });

    it("node CIDR masks from the plan (k0s would default IPv6 to /117), user extra args merged and sorted", () => {
        const plan = k0sPlan({
            network: { ...NET, nodeCidrMaskSizes: { ipv4: 25, ipv6: 66 } },
            cluster: { extraArgs: { controllerManager: ["v=2"], apiServer: ["v=3", "audit-log-maxage=7"], kubeProxy: ["v=4"] } },
        });
        const doc = yamlOf(plan);
        assert.deepEqual(doc.spec.controllerManager.extraArgs, { "node-cidr-mask-size-ipv4": "25", "node-cidr-mask-size-ipv6": "66", v: "2" });
        assert.deepEqual(Object.keys(doc.spec.api.extraArgs), ["audit-log-maxage", "v"]);
        assert.deepEqual(doc.spec.api.extraArgs, { "audit-log-maxage": "7", v: "3" });
        assert.deepEqual(doc.spec.network.kubeProxy, { extraArgs: { v: "4" } });
    });

    for (const mode of ["iptables", "ipvs", "nftables"]) {
        it(`kube-proxy mode ${mode} goes to spec.network.kubeProxy.mode`, () => {
            const plan = k0sPlan({ cluster: { kubeProxyMode: mode } });
            assert.equal(yamlOf(plan).spec.network.kubeProxy.mode, mode);
        });
    }

    it("without kube-proxy settings there is no kubeProxy block (k0s keeps its defaults)", () => {
        assert.equal(yamlOf(k0sPlan()).spec.network.kubeProxy, undefined);
    });

    it("three controllers: each its own API and etcd peer address, SANs with both addresses of every controller", () => {
        const plan = k0sPlan({ nodes: nodes(3, 2) });
        const want = plan.controlPlanes.flatMap((n) => [n.ipv4, n.ipv6]);
        for (const c of plan.controlPlanes) {
            const doc = yamlOf(plan, c);
            assert.equal(doc.spec.api.address, c.ipv4);
            assert.equal(doc.spec.api.port, 6443);
            assert.deepEqual(doc.spec.storage, { type: "etcd", etcd: { peerAddress: c.ipv4 } });
            for (const a of want) assert.ok(doc.spec.api.sans.includes(a), `${c.name}: SANs lack ${a}`);
        }
        // Everything but the controller's own addresses is the same on every controller.
        const strip = (d: any) => ({ ...d, spec: { ...d.spec, api: { ...d.spec.api, address: "" }, storage: undefined } });
        assert.deepEqual(strip(yamlOf(plan, plan.controlPlanes[1])), strip(yamlOf(plan, plan.controlPlanes[0])));
    });

    it("a one-node stack has no etcd block (--single runs kine)", () => {
        const plan = k0sPlan({ nodes: nodes(1, 0) });
        assert.equal(yamlOf(plan).spec.storage, undefined);
    });

    it("workers get no k0s.yaml", () => {
        const plan = k0sPlan();
        assert.throws(() => k0sConfig(plan, plan.workers[0]), /not a controller/);
        assert.ok(!artifacts(plan).some((a) => a.path.startsWith("nodes/worker1/etc/")));
    });

    it("is the YAML serialisation of k0sConfig (property: any primary family, masks and controller count)", () => {
        fc.assert(
            fc.property(fc.boolean(), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 20, max: 28 }), fc.integer({ min: 60, max: 72 }), (v6first, ncp, nwk, m4, m6) => {
                const plan = k0sPlan({
                    nodes: nodes(ncp, nwk),
                    network: {
                        ...NET,
                        ...(v6first ? ipv6Primary.network : {}),
                        nodeCidrMaskSizes: { ipv4: m4, ipv6: m6 },
                    },
                });
                for (const c of plan.controlPlanes) {
                    const doc = yamlOf(plan, c);
                    assert.deepEqual(parse(renderK0sYaml(plan, c)), k0sConfig(plan, c));
                    assert.equal(doc.spec.api.address, v6first ? c.ipv6 : c.ipv4);
                    assert.equal(doc.spec.network.primaryAddressFamily, v6first ? "IPv6" : "IPv4");
                    assert.equal(doc.spec.controllerManager.extraArgs["node-cidr-mask-size-ipv6"], String(m6));
                }
            }),
            { numRuns: 40 },
        );
    });
});

describe("k0s: install flags", () => {
    it("--single only for a one-node stack, whatever controllersRunWorkloads says", () => {
        for (const runs of [true, false]) {
            const one = k0sPlan({ nodes: nodes(1, 0), cluster: { controllersRunWorkloads: runs } });
            assert.ok(isSingleNode(one));
            assert.deepEqual(installArgs(one, one.firstControlPlane).slice(0, 4), ["controller", "-c", "/etc/k0s/k0s.yaml", "--single"]);
            assert.ok(!installArgs(one, one.firstControlPlane).includes("--enable-worker"));
        }
        const withWorker = k0sPlan({ nodes: nodes(1, 1) });
        for (const n of withWorker.nodes) assert.ok(!installArgs(withWorker, n).includes("--single"), `${n.name} got --single next to a worker`);
        const twoControllers = k0sPlan({ nodes: nodes(2, 0) });
        for (const n of twoControllers.nodes) assert.ok(!installArgs(twoControllers, n).includes("--single"));
    });

    it("--enable-worker --no-taints on every controller exactly when controllers run workloads", () => {
        for (const runs of [true, false]) {
            const plan = k0sPlan({ nodes: nodes(3, 2), cluster: { controllersRunWorkloads: runs } });
            for (const c of plan.controlPlanes) {
                const args = installArgs(plan, c);
                assert.equal(args.includes("--enable-worker"), runs, `${c.name} --enable-worker`);
                assert.equal(args.includes("--no-taints"), runs, `${c.name} --no-taints`);
                assert.equal(runsKubelet(plan, c), runs);
            }
            for (const w of plan.workers) {
                assert.equal(installArgs(plan, w)[0], "worker");
                assert.ok(!installArgs(plan, w).includes("--enable-worker"));
            }
        }
    });

    it("every node's kubelet gets --node-ip with both addresses in primary-family order", () => {
        for (const [label, extra] of [["IPv4 primary", {}], ["IPv6 primary", ipv6Primary]] as const) {
            const plan = k0sPlan({ nodes: nodes(3, 3), ...extra });
            for (const n of plan.nodes) {
                const arg = installArgs(plan, n).find((a) => a.startsWith("--kubelet-extra-args="));
                assert.ok(arg, `${label} ${n.name}: no --kubelet-extra-args`);
                const first = label === "IPv4 primary" ? n.ipv4 : n.ipv6;
                const second = label === "IPv4 primary" ? n.ipv6 : n.ipv4;
                assert.ok(arg!.startsWith(`--kubelet-extra-args=--node-ip=${first},${second} `), `${label} ${n.name}: ${arg}`);
                assert.ok(arg!.includes(`--hostname-override=${n.name}`));
            }
        }
    });

    it("user kubelet args get their dashes; labels sorted, taints as given", () => {
        const plan = k0sPlan({
            nodes: [cp(1), wk(1, { labels: { zone: "b", "dualstack.example/role": "edge" }, taints: ["dedicated=infra:NoSchedule", "spot:PreferNoSchedule"] })],
            cluster: { extraArgs: { kubelet: ["max-pods=150", "v=2"] } },
        });
        const w = plan.workers[0];
        assert.equal(kubeletExtraArgs(plan, w), `--node-ip=${w.ipv4},${w.ipv6} --hostname-override=worker1 --max-pods=150 --v=2`);
        const args = installArgs(plan, w);
        assert.ok(args.includes("--labels=dualstack.example/role=edge,zone=b"));
        assert.ok(args.includes("--taints=dedicated=infra:NoSchedule,spot:PreferNoSchedule"));
        // The join step applies them too (kubelet only applies flags when it registers the Node).
        const join = joinWaitScript(plan, w);
        assert.ok(join.includes("label node worker1"));
        assert.ok(join.includes("taint node worker1"));
    });

    it("only joining nodes read a token file; the first controller bootstraps without one", () => {
        const plan = k0sPlan({ nodes: nodes(3, 2) });
        for (const n of plan.nodes) {
            const args = installArgs(plan, n);
            const i = args.indexOf("--token-file");
            if (n.name === plan.firstControlPlane.name) assert.equal(i, -1);
            else assert.equal(args[i + 1], K0S_TOKEN_FILE);
        }
    });

    it("topology invariants hold for any node count (property)", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 9 }), fc.boolean(), (ncp, nwk, runs) => {
                // The plan refuses a multi-node k0s stack in which nothing runs pods.
                fc.pre(runs || nwk > 0 || ncp === 1);
                const plan = k0sPlan({ nodes: nodes(ncp, nwk), cluster: { controllersRunWorkloads: runs } });
                const singles = plan.nodes.filter((n) => installArgs(plan, n).includes("--single"));
                assert.equal(singles.length, ncp + nwk === 1 ? 1 : 0);
                for (const n of plan.nodes) {
                    assert.ok(installArgs(plan, n).some((a) => a.startsWith(`--kubelet-extra-args=--node-ip=${n.nodeIps.join(",")} `)));
                }
            }),
            { numRuns: 60 },
        );
    });

    it("tokens: --role worker / controller with the plan's expiry", () => {
        const plan = k0sPlan({ nodes: nodes(2, 1), cluster: { tokenExpiry: "30m" } });
        assert.ok(tokenCreateScript(plan, plan.workers[0]).includes("token create --role worker --expiry 30m"));
        assert.ok(tokenCreateScript(plan, plan.controlPlanes[1]).includes("token create --role controller --expiry 30m"));
    });

    it("create-only settings name each value that forces a replace", () => {
        const a = k0sPlan();
        const b = k0sPlan({ version: "v1.36.4+k0s.0" });
        const c = k0sPlan({ network: { ...NET, podCidrs: ["10.52.0.0/16", "fd45:a71:55a6:4200::/56"] } });
        for (const n of a.nodes) {
            assert.deepEqual(createOnlySettings(b, b.nodes[n.index]), createOnlySettings(a, n), "a version change must stay an update");
            assert.notDeepEqual(createOnlySettings(c, c.nodes[n.index]), createOnlySettings(a, n));
            assert.ok(createOnlySettings(c, c.nodes[n.index]).includes("podCidrs=10.52.0.0/16,fd45:a71:55a6:4200::/56"));
        }
        const single = k0sPlan({ nodes: nodes(1, 0) });
        const grown = k0sPlan({ nodes: nodes(1, 1) });
        assert.ok(createOnlySettings(single, single.firstControlPlane).includes("controlPlane=single"));
        assert.ok(createOnlySettings(grown, grown.firstControlPlane).includes("controlPlane=multi"));
    });
});

describe("k0s: refused inputs (validation lives in plan/rules)", () => {
    const cases: { name: string; cfg: ConfigInput; key: string; rule: RegExp }[] = [
        { name: "k0s-managed dual-stack Calico in vxlan mode", cfg: { calico: { mode: "vxlan" } }, key: "dualstack:calico.mode", rule: /bird/ },
        {
            name: "IPv6 service CIDR larger than /108",
            cfg: { network: { ...NET, serviceCidrs: ["10.43.0.0/16", "fd45:a71:55a6:43::/104"] } },
            key: "dualstack:network.serviceCidrs",
            rule: /\/108/,
        },
        { name: "IPv6 encapsulation under k0s-managed Calico", cfg: { calico: { mode: "bird", encapsulation: { ipv6: "VXLAN" } } }, key: "dualstack:calico.encapsulation", rule: /VXLAN|unencapsulated/ },
        { name: "ServiceLB on k0s", cfg: { traefik: { loadBalancer: "servicelb" } }, key: "dualstack:traefik.loadBalancer", rule: /k3s/ },
    ];
    for (const c of cases) {
        it(`${c.name}: refused, naming ${c.key}`, () => {
            const { plan, problems } = tryPlan(baseConfig({ ...K0S, ...c.cfg }));
            assert.equal(plan, undefined);
            const hit = problems.errors.find((e) => e.key.startsWith(c.key));
            assert.ok(hit, `no error names ${c.key}: ${problems.errors.map((e) => `${e.key}: ${e.rule}`).join("; ")}`);
            assert.match(hit!.rule, c.rule);
        });
    }

    it("an IPv6 service CIDR of exactly /108 is accepted", () => {
        assert.ok(k0sPlan({ network: { ...NET, serviceCidrs: ["10.43.0.0/16", "fd45:a71:55a6:43::/108"] } }));
    });
});

describe("k0s: scripts", () => {
    const variants: [string, ConfigInput][] = [
        ["lab shape (1 controller + 2 workers)", {}],
        ["one node (--single)", { nodes: nodes(1, 0) }],
        ["3 controllers + 3 workers, IPv6 primary, labels and taints", { nodes: [cp(1), cp(2), cp(3), wk(1, { labels: { a: "b" }, taints: ["x=y:NoSchedule"] }), wk(2), wk(3)], ...ipv6Primary }],
        ["air-gapped, sudo user, controllers without workloads", { install: { source: "airgap", airgapDir: "/srv/k0s" }, ssh: { user: "ubuntu", privateKeyPath: "/k" }, cluster: { controllersRunWorkloads: false } }],
        ["operator-managed Calico", { network: { ...NET, provider: "custom" }, calico: { mode: "vxlan" } }],
    ];

    it("shellcheck -s sh passes on every rendered script of every variant", function () {
        requireShellcheck(this);
        const dir = tempDir("dualstack-k0s-sc");
        // Distinct contents only: most nodes share a script shape, and shellcheck costs per file.
        const contents = new Map<string, string>();
        for (const [label, cfg] of variants) {
            const scripts = artifacts(k0sPlan(cfg)).filter((x) => x.path.endsWith(".sh"));
            assert.ok(scripts.length > 0, label);
            for (const a of scripts) if (!contents.has(a.content)) contents.set(a.content, `${label}: ${a.path}`);
        }
        const files = [...contents.keys()].map((content, i) => {
            const f = path.join(dir, `${i}.sh`);
            fs.writeFileSync(f, content);
            return f;
        });
        // SC1001 only flags the harmless backslashes shell-quote puts before `=` and `:` in the
        // values shell.ts `q` quotes (e.g. labels `a\=b`); see the report on shell.ts.
        const r = shellcheck(["-s", "sh", "-e", "SC1001", ...files]);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        // Negative control: the same invocation does flag a real problem.
        const bad = shellcheck(["-s", "sh", "-e", "SC1001", "-"], "set -eu\nrm -rf $dir/*\n");
        assert.notEqual(bad.status, 0);
    });

    it("every script starts with set -eu and install/upgrade/reset pin the version and paths", () => {
        const plan = k0sPlan();
        for (const a of artifacts(plan).filter((x) => x.path.endsWith(".sh"))) assert.ok(a.content.startsWith("set -eu\n"), a.path);
        const create = installScript(plan, plan.workers[0]);
        // The tag's release binary, checked against the release's sha256sums.txt; never get.k0s.sh.
        assert.ok(create.includes("https://github.com/k0sproject/k0s/releases/download/v1.36.3%2Bk0s.2/k0s-v1.36.3%2Bk0s.2-amd64"));
        assert.ok(create.includes("https://github.com/k0sproject/k0s/releases/download/v1.36.3%2Bk0s.2/sha256sums.txt"));
        assert.ok(!create.includes("get.k0s.sh"));
        assert.ok(create.includes("umask 077"));
        assert.ok(/cat > \/etc\/k0s\/join-token/.test(create));
        const up = upgradeScript(plan, plan.workers[0]);
        assert.ok(up.indexOf("k0s stop") < up.indexOf("sha256sums.txt"), "upgrade must stop k0s before replacing its binary");
        const reset = resetScript(plan, plan.workers[0]);
        for (const want of ["k0s stop", "k0s reset", "vxlan.calico", "vxlan-v6.calico", "tunl0", "cali*", "/etc/cni/net.d/10-calico.conflist", K0S_TOKEN_FILE, "iptables"]) {
            assert.ok(reset.includes(want), `reset lacks ${want}`);
        }
        assert.ok(reset.indexOf("k0s stop") < reset.indexOf("k0s reset"));
    });

    it("air-gapped: no download, the staged binary must be the planned version", () => {
        const plan = k0sPlan({ install: { source: "airgap", airgapDir: "/srv/k0s" } });
        const s = installScript(plan, plan.workers[0]);
        assert.ok(!s.includes("get.k0s.sh") && !s.includes("curl"));
        assert.ok(s.includes("/var/lib/dualstack/k0s-airgap/k0s"));
        assert.ok(s.includes("dualstack:version is"));
    });

    it("extra controllers leave etcd before reset; the first controller and workers do not", () => {
        const plan = k0sPlan({ nodes: nodes(3, 1) });
        assert.ok(resetScript(plan, plan.controlPlanes[1]).includes("etcd leave"));
        assert.ok(!resetScript(plan, plan.controlPlanes[0]).includes("etcd leave"));
        assert.ok(!resetScript(plan, plan.workers[0]).includes("etcd leave"));
    });

    it("join waits for Ready only with k0s-managed Calico; drain waits for the API with a deadline and is bounded", () => {
        const k0sCalico = k0sPlan();
        const operator = k0sPlan({ network: { ...NET, provider: "custom" }, calico: { mode: "vxlan" } });
        assert.ok(joinWaitScript(k0sCalico, k0sCalico.workers[0]).includes("condition=Ready"));
        assert.ok(!joinWaitScript(operator, operator.workers[0]).includes("condition=Ready"));
        const drain = drainScript(k0sCalico, k0sCalico.workers[0]);
        assert.match(drain, /^node=worker1$/m);
        assert.match(drain, /kubectl drain "\$node" .*--timeout=120s; then/);
        assert.ok(drain.includes('kubectl delete node "$node" --ignore-not-found'));
        assert.match(drain, /deadline=\$\(\( \$\(date \+%s\) \+ 60 \)\)/);
    });

    it("no script sleeps outside a deadline loop", () => {
        for (const [, cfg] of variants) {
            const plan = k0sPlan(cfg);
            for (const a of artifacts(plan).filter((x) => x.path.endsWith(".sh"))) {
                const lines = a.content.split("\n");
                lines.forEach((l, i) => {
                    if (/\bsleep\b/.test(l)) assert.ok(lines.slice(0, i).some((x) => x.startsWith("until ")) && lines.slice(0, i).some((x) => x.includes("deadline=")), `${a.path}:${i + 1}`);
                });
            }
        }
    });
});

describe("kube.ts helpers (shared by the cluster components)", () => {
    const kubeconfig = [
        "apiVersion: v1",
        "clusters:",
        "- cluster:",
        "    certificate-authority-data: LS0tQ0EtLS0=",
        "    server: https://localhost:6443",
        "  name: k0s",
        "contexts:",
        "- context:",
        "    cluster: k0s",
        "    user: admin",
        "  name: k0s",
        "current-context: k0s",
        "kind: Config",
        "users:",
        "- name: admin",
        "  user:",
        "    client-certificate-data: LS0tQ0VSVC0tLQ==",
        "    client-key-data: LS0tS0VZLS0t",
        "",
    ].join("\n");

    const urls: [string, string][] = [
        ["IPv4", "https://192.168.122.10:6443"],
        ["IPv6 (bracketed)", "https://[fd7b:3e0c:91d4:1::2f5:2b5]:6443"],
    ];
    for (const [label, url] of urls) {
        it(`rewrites the server to the plan's API URL (${label}) and keeps credentials`, () => {
            const out = parse(rewriteKubeconfigServer(kubeconfig, url));
            const before = parse(kubeconfig);
            assert.equal(out.clusters[0].cluster.server, url);
            assert.deepEqual(out.users, before.users);
            assert.equal(out.clusters[0].cluster["certificate-authority-data"], "LS0tQ0EtLS0=");
            assert.deepEqual(out.contexts, before.contexts);
        });
    }

    it("an IPv6-primary k0s plan yields a bracketed API URL", () => {
        const plan = k0sPlan(ipv6Primary);
        const out = parse(rewriteKubeconfigServer(kubeconfig, plan.api.url));
        assert.equal(out.clusters[0].cluster.server, `https://[${plan.firstControlPlane.ipv6}]:6443`);
    });

    it("rewrites every cluster, is idempotent, leaves empty text alone, refuses non-YAML", () => {
        const two = kubeconfig.replace("contexts:", "- cluster:\n    server: https://127.0.0.1:6443\n  name: other\ncontexts:");
        const once = rewriteKubeconfigServer(two, "https://10.0.0.1:6443");
        assert.deepEqual(parse(once).clusters.map((c: any) => c.cluster.server), ["https://10.0.0.1:6443", "https://10.0.0.1:6443"]);
        assert.equal(rewriteKubeconfigServer(once, "https://10.0.0.1:6443"), once);
        assert.equal(rewriteKubeconfigServer("", "https://10.0.0.1:6443"), "");
        assert.throws(() => rewriteKubeconfigServer("clusters: [unclosed", "https://10.0.0.1:6443"), /not YAML/);
    });

    it("waitUntil: passes at once when the condition holds, fails with the message at the deadline", () => {
        const ok = spawnSync("sh", ["-c", script(waitUntil({ condition: "true", timeoutSeconds: 5, what: "nothing" }))], { encoding: "utf8", timeout: 10000 });
        assert.equal(ok.status, 0, ok.stderr);
        const started = Date.now();
        const bad = spawnSync("sh", ["-c", script(waitUntil({ condition: "false", timeoutSeconds: 0, what: "the impossible", onTimeout: ["echo dumped >&2"] }))], { encoding: "utf8", timeout: 10000 });
        assert.equal(bad.status, 1);
        assert.match(bad.stderr, /dumped\ndualstack: the impossible did not happen within 0s/);
        assert.ok(Date.now() - started < 5000, "a zero deadline must not wait");
    });

    it("the Calico cleanup names every leftover kind (the lab runs it for real)", () => {
        const text = calicoCleanupLines().join("\n");
        for (const want of ["cali*", "vxlan.calico", "vxlan-v6.calico", "tunl0", "iptables", "ip6tables", "^:cali-", "ipset", "/etc/cni/net.d/10-calico.conflist", "/var/lib/calico"]) {
            assert.ok(text.includes(want), `cleanup lacks ${want}`);
        }
    });
});

describe("k0s: a controller's install update (upgradeScript) at the version, flags and config it runs", () => {
    const plan = k0sPlan({ nodes: nodes(3, 1) });
    const ctl = plan.controlPlanes[1];
    const sha = "ab".repeat(32);

    /**
     * Runs the update with a k0s TEST DOUBLE (version, status; records every other call) and the
     * recorded state file at a temporary path instead of /etc/k0s: exit code and the double's calls.
     */
    function run(opts: { version: string; state: string | undefined; running: boolean }, body = upgradeScript(plan, ctl, sha)): { code: number | null; stdout: string; calls: string[] } {
        const dir = tempDir("dualstack-k0s-guard");
        const log = path.join(dir, "calls");
        const k0s = path.join(dir, "k0s");
        fs.writeFileSync(k0s, `#!/bin/sh\ncase "$1" in version) echo '${opts.version}' ;; status) ${opts.running ? "exit 0" : "exit 1"} ;; *) echo "k0s $*" >>'${log}'; exit 1 ;; esac\n`, { mode: 0o755 });
        const stateFile = path.join(dir, "state");
        if (opts.state !== undefined) fs.writeFileSync(stateFile, `${opts.state}\n`);
        const text = body.split("/usr/local/bin/k0s").join(k0s).split(K0S_INSTALL_ARGS_FILE).join(stateFile);
        const r = spawnSync("/bin/sh", ["-c", text], { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin` } });
        return { code: r.status, stdout: r.stdout, calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [] };
    }
    // What the install and every upgrade record (the same helper writes it).
    const recorded = () => {
        const line = installScript(plan, ctl, sha).split("\n").find((l) => l.includes(K0S_INSTALL_ARGS_FILE) && l.startsWith("printf"))!;
        return (spawnSync("/bin/sh", ["-c", line.replace(/>\S+$/, "")], { encoding: "utf8" }).stdout).trimEnd();
    };

    it("does nothing at the same version, flags and config hash, with k0s running", () => {
        const r = run({ version: plan.version, state: recorded(), running: true });
        assert.equal(r.code, 0);
        assert.match(r.stdout, /already runs k0s .* nothing to upgrade/);
        assert.deepEqual(r.calls, [], "k0s was stopped, installed or started");
    });

    it("goes on to the upgrade on another version, other recorded flags or config, no record, or k0s not running", () => {
        for (const opts of [
            { version: "v1.36.4+k0s.0", state: recorded(), running: true },
            { version: plan.version, state: recorded().replace(sha, "cd".repeat(32)), running: true },
            { version: plan.version, state: undefined, running: true },
            { version: plan.version, state: recorded(), running: false },
        ]) {
            // Past the check the upgrade runs (here it stops at the doubles' missing files or binaries).
            assert.doesNotMatch(run(opts).stdout, /nothing to upgrade/, JSON.stringify(opts));
        }
    });
});
