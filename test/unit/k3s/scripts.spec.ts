import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as fc from "fast-check";
import { parse } from "yaml";
import { createOnlySettings, k3sConfig, renderK3sConfig } from "../../../components/k3s/config";
import { artifacts } from "../../../components/k3s/render";
import { installScript, K3S_PATHS, uninstallScript } from "../../../components/k3s/scripts";
import { k3sSteps } from "../../../components/k3s/steps";
import { stepById } from "../../../components/steps";
import { rewriteKubeconfigServer } from "../../../components/kube";
import { canonicalIPv6, familyOfAddress, httpsUrl } from "../../../components/net";
import { loadPlan, Plan } from "../../../components/plan";
import { baseConfig, ConfigInput, planOf, tryPlan } from "../../support/configs";
import { stackConfig } from "../../support/program";
import { requireShellcheck, shellcheck } from "../../support/shellcheck";
import { tempDir } from "../../support/tmp";

// Keys k3s accepts on an agent (k3s pkg/cli/cmds/agent.go); anything else in an agent's
// config.yaml would make `k3s agent` refuse to start or be silently meaningless.
const AGENT_KEYS = new Set(["node-name", "node-ip", "server", "token-file", "node-label", "node-taint", "kubelet-arg", "kube-proxy-arg"]);

const cp = (i: number, o: ConfigInput = {}) => ({ name: `cp${i}`, host: `192.168.121.${10 + i}`, role: "control-plane", interface: "eth0", ...o });
const wk = (i: number, o: ConfigInput = {}) => ({ name: `worker${i}`, host: `192.168.121.${100 + i}`, role: "worker", interface: "eth0", ...o });
const V6_FIRST = {
    nodeIpv6Prefix: "fd45:a71:55a6:1::/64",
    podCidrs: ["fd45:a71:55a6:4200::/56", "10.42.0.0/16"],
    serviceCidrs: ["fd45:a71:55a6:43::/112", "10.43.0.0/16"],
};

/** A cluster of `servers` servers and `agents` agents. */
function clusterConfig(servers: number, agents: number, o: ConfigInput = {}): ConfigInput {
    const nodes = [...Array.from({ length: servers }, (_, i) => cp(i + 1)), ...Array.from({ length: agents }, (_, i) => wk(i + 1))];
    return baseConfig({ nodes, ...o });
}

function labPlan(): Plan {
    const raw = stackConfig("lab-k3s");
    return loadPlan((k) => raw[k], "lab-k3s", Object.keys(raw)).plan;
}

const cfgOf = (plan: Plan, name: string) => k3sConfig(plan, plan.nodes.find((n) => n.name === name)!);

describe("k3s: config.yaml per node", () => {
    const families: [string, ConfigInput][] = [
        ["IPv4-primary", {}],
        ["IPv6-primary", { network: V6_FIRST }],
    ];
    for (const [label, extra] of families) {
        describe(label, () => {
            const plan = planOf(clusterConfig(3, 2, extra));
            const primary = plan.primaryFamily;

            it("servers: both CIDR families in the planned order, Calico as CNI, masks, SANs, kubeconfig mode", () => {
                for (const n of plan.controlPlanes) {
                    const c = k3sConfig(plan, n);
                    assert.equal(c["cluster-cidr"], plan.podCidrs.ordered.join(","));
                    assert.equal(c["service-cidr"], plan.serviceCidrs.ordered.join(","));
                    const [pod0, svc0] = [String(c["cluster-cidr"]).split(",")[0], String(c["service-cidr"]).split(",")[0]];
                    assert.equal(pod0.includes(":") ? "IPv6" : "IPv4", primary);
                    assert.equal(svc0.includes(":") ? "IPv6" : "IPv4", primary);
                    assert.equal(c["flannel-backend"], "none");
                    assert.equal(c["disable-network-policy"], true);
                    assert.deepEqual(c["kube-controller-manager-arg"], [
                        `node-cidr-mask-size-ipv4=${plan.nodeCidrMaskSizes.ipv4}`,
                        `node-cidr-mask-size-ipv6=${plan.nodeCidrMaskSizes.ipv6}`,
                    ]);
                    const sans = c["tls-san"] as string[];
                    for (const s of plan.controlPlanes) assert.ok(sans.includes(s.ipv4) && sans.includes(s.ipv6), `${n.name}: tls-san lacks ${s.name}`);
                    assert.equal(c["write-kubeconfig-mode"], "0600");
                    assert.equal(c["token-file"], K3S_PATHS.tokenFile);
                }
            });

            it("every node: node-ip with both families, primary first, and its own name", () => {
                for (const n of plan.nodes) {
                    const c = k3sConfig(plan, n);
                    const ips = String(c["node-ip"]).split(",");
                    assert.deepEqual(ips.map(familyOfAddress), primary === "IPv4" ? ["IPv4", "IPv6"] : ["IPv6", "IPv4"]);
                    assert.deepEqual(ips.sort(), [n.ipv4, n.ipv6].sort());
                    assert.equal(c["node-name"], n.name);
                }
            });

            it("agents get only agent keys; joining nodes get the first server's URL (IPv6 in brackets)", () => {
                for (const n of plan.workers) {
                    for (const key of Object.keys(k3sConfig(plan, n))) assert.ok(AGENT_KEYS.has(key), `agent ${n.name} has server key ${key}`);
                }
                const first = plan.firstControlPlane;
                const expected = httpsUrl(primary === "IPv4" ? first.ipv4 : first.ipv6, 6443);
                if (primary === "IPv6") assert.match(expected, /^https:\/\/\[[0-9a-f:]+\]:6443$/);
                for (const n of plan.nodes) {
                    assert.equal(k3sConfig(plan, n).server, n === first ? undefined : expected);
                }
            });

            it("the rendered file is the YAML of exactly these keys (the mode stays a string)", () => {
                for (const n of plan.nodes) {
                    const text = renderK3sConfig(plan, n);
                    assert.deepEqual(parse(text), k3sConfig(plan, n));
                    // A bare 0600 would be the integer 384 to a YAML 1.1 reader.
                    if (n.role === "control-plane") assert.match(text, /^write-kubeconfig-mode: "0600"$/m);
                }
            });
        });
    }

    it("disables servicelb unless it is Traefik's load balancer; always disables the bundled Traefik", () => {
        const withLb = planOf(clusterConfig(1, 1, { traefik: { loadBalancer: "servicelb" } }));
        const withMetal = planOf(
            clusterConfig(1, 1, { traefik: { loadBalancer: "metallb" }, metallb: { addresses: ["192.168.121.200-192.168.121.220", "fd45:a71:55a6:1::200/124"] } }),
        );
        assert.deepEqual(cfgOf(withLb, "cp1").disable, ["traefik"]);
        assert.deepEqual(cfgOf(withMetal, "cp1").disable, ["servicelb", "traefik"]);
    });

    const clusterInit: [number, string[]][] = [
        [1, []],
        [2, ["cp1"]],
        [3, ["cp1"]],
    ];
    for (const [servers, expected] of clusterInit) {
        it(`cluster-init with ${servers} server(s): ${expected.length ? expected.join(", ") : "none (SQLite)"}`, () => {
            const plan = planOf(clusterConfig(servers, 2));
            const withInit = plan.nodes.filter((n) => k3sConfig(plan, n)["cluster-init"] === true).map((n) => n.name);
            assert.deepEqual(withInit, expected);
        });
    }

    it("passes labels (sorted), taints, kube-proxy mode and extra args to the right components", () => {
        const plan = planOf(
            clusterConfig(1, 1, {
                nodes: [
                    cp(1, { labels: { zone: "a", "example.com/tier": "edge" }, taints: ["dedicated=infra:NoSchedule"] }),
                    wk(1, { labels: { disk: "ssd" } }),
                ],
                cluster: {
                    kubeProxyMode: "ipvs",
                    extraArgs: { apiServer: ["audit-log-maxage=7"], controllerManager: ["terminated-pod-gc-threshold=50"], kubelet: ["max-pods=150"], kubeProxy: ["v=2"] },
                },
            }),
        );
        const server = cfgOf(plan, "cp1");
        const agent = cfgOf(plan, "worker1");
        assert.deepEqual(server["node-label"], ["example.com/tier=edge", "zone=a"]);
        assert.deepEqual(server["node-taint"], ["dedicated=infra:NoSchedule"]);
        assert.deepEqual(agent["node-label"], ["disk=ssd"]);
        assert.equal(agent["node-taint"], undefined);
        for (const c of [server, agent]) {
            assert.deepEqual(c["kube-proxy-arg"], ["proxy-mode=ipvs", "v=2"]);
            assert.deepEqual(c["kubelet-arg"], ["max-pods=150"]);
        }
        assert.deepEqual(server["kube-apiserver-arg"], ["audit-log-maxage=7"]);
        assert.deepEqual((server["kube-controller-manager-arg"] as string[]).slice(2), ["terminated-pod-gc-threshold=50"]);
        assert.equal(agent["kube-apiserver-arg"], undefined);
        assert.equal(agent["kube-controller-manager-arg"], undefined);
        // Without a mode, kube-proxy keeps k3s' default and gets no argument at all.
        assert.equal(cfgOf(planOf(clusterConfig(1, 1)), "worker1")["kube-proxy-arg"], undefined);
    });

    it("never passes the removed IPv6DualStack gate, and the plan refuses it in extra args", () => {
        for (const plan of [labPlan(), planOf(clusterConfig(3, 2, { network: V6_FIRST }))]) {
            for (const a of artifacts(plan)) assert.ok(!a.content.includes("IPv6DualStack"), a.path);
        }
        const refused = tryPlan(clusterConfig(1, 1, { cluster: { extraArgs: { kubelet: ["feature-gates=IPv6DualStack=true"] } } }));
        assert.equal(refused.plan, undefined);
        assert.ok(refused.problems.errors.some((e) => e.key === "dualstack:cluster.extraArgs.kubelet[0]" && /removed in Kubernetes 1.25/.test(e.rule)));
    });

    it("property: any mix of servers, agents, families, labels and load balancers keeps the invariants", () => {
        const label = fc.tuple(fc.constantFrom("zone", "tier", "example.com/pool"), fc.constantFrom("a", "b", "edge-1"));
        fc.assert(
            fc.property(
                fc.integer({ min: 1, max: 3 }),
                fc.integer({ min: 0, max: 4 }),
                fc.boolean(),
                fc.constantFrom("servicelb", "none"),
                fc.array(label, { maxLength: 3 }),
                (servers, agents, v6First, lb, labels) => {
                    const cfg = clusterConfig(servers, agents, { ...(v6First ? { network: V6_FIRST } : {}), traefik: { loadBalancer: lb } });
                    (cfg.nodes as ConfigInput[])[0].labels = Object.fromEntries(labels);
                    const plan = planOf(cfg);
                    const primary = v6First ? "IPv6" : "IPv4";
                    let inits = 0;
                    for (const n of plan.nodes) {
                        const c = k3sConfig(plan, n);
                        assert.deepEqual(parse(renderK3sConfig(plan, n)), c);
                        assert.equal(familyOfAddress(String(c["node-ip"]).split(",")[0]), primary);
                        if (c["cluster-init"] === true) inits++;
                        if (n.role === "worker") for (const k of Object.keys(c)) assert.ok(AGENT_KEYS.has(k), k);
                        else assert.equal(((c.disable as string[]) ?? []).includes("servicelb"), lb !== "servicelb");
                    }
                    assert.equal(inits, servers > 1 ? 1 : 0);
                },
            ),
            { numRuns: 60 },
        );
    });
});

describe("k3s: create-only settings and steps", () => {
    it("changing a CIDR, the primary family, a node address or a role changes the node's create-only settings; a label does not", () => {
        const base = planOf(clusterConfig(1, 2));
        const settings = (p: Plan, n = "worker1") => createOnlySettings(p, p.nodes.find((x) => x.name === n)!);
        const changes: [string, ConfigInput, boolean][] = [
            ["pod CIDR", { network: { ...(baseConfig().network as object), podCidrs: ["10.44.0.0/16", "fd45:a71:55a6:4200::/56"] } }, true],
            ["primary family", { network: V6_FIRST }, true],
            ["node address", { nodes: [cp(1), wk(1, { host: "192.168.121.199" }), wk(2)] }, true],
            ["role", { nodes: [cp(1), wk(1, { role: "control-plane" }), wk(2)] }, true],
            ["label", { nodes: [cp(1), wk(1, { labels: { zone: "b" } }), wk(2)] }, false],
            ["version", { version: "v1.34.1+k3s1" }, false],
        ];
        for (const [what, o, replaces] of changes) {
            const changed = planOf(clusterConfig(1, 2, o));
            assert.equal(JSON.stringify(settings(changed)) !== JSON.stringify(settings(base)), replaces, what);
        }
    });

    it("removing an agent leaves every other step byte-identical (its batch neighbours' drains only wait for other steps)", () => {
        const all = k3sSteps(planOf(clusterConfig(1, 2)));
        const fewer = k3sSteps(planOf(clusterConfig(1, 1)));
        const byId = (s: typeof all) => new Map(s.steps.map((step) => [step.id, JSON.stringify(step)]));
        const [a, b] = [byId(all), byId(fewer)];
        assert.deepEqual([...new Set(fewer.steps.map((s) => s.id.split("-")[0]))], ["cp1", "worker1", "kubeconfig"]);
        for (const [id, step] of b) assert.equal(step, a.get(id), id);
        assert.deepEqual([...a.keys()].filter((id) => !b.has(id)), ["worker2-token", "worker2-install", "worker2-member", "worker2-drain", "worker2-upgrade", "worker2-uncordon"]);
        // Removing an agent that is not the last one rebatches the ones after it: their drains wait
        // for another batch. Only `after` (the resource's dependsOn) changes, which never updates a
        // resource; every input Pulumi compares stays byte-identical.
        const three = k3sSteps(planOf(clusterConfig(1, 3)));
        const middleGone = k3sSteps(planOf({ ...clusterConfig(1, 3), nodes: [cp(1), wk(1), wk(3)] }));
        const inputs = (s: typeof all) => new Map(s.steps.map((step) => [step.id, JSON.stringify({ ...step, after: undefined })]));
        const [c, d] = [inputs(three), inputs(middleGone)];
        for (const [id, step] of d) assert.equal(step, c.get(id), id);
        const afterChanged = middleGone.steps.filter((s) => JSON.stringify(s.after) !== JSON.stringify(three.steps.find((x) => x.id === s.id)!.after)).map((s) => s.id);
        assert.deepEqual(afterChanged, ["worker3-drain"]);
        assert.deepEqual(stepById(middleGone, "worker3-drain").after, ["worker3-member", "worker1-uncordon"]);
    });

    it("install scripts pin the version, pass the role, and read config (not the token) from stdin", () => {
        for (const source of ["script", "airgap"] as const) {
            const plan = planOf(clusterConfig(2, 1, { install: source === "airgap" ? { source, airgapDir: "/srv/k3s" } : { source } }));
            for (const n of plan.nodes) {
                const s = installScript(plan, n);
                assert.ok(s.includes(`version=${plan.version}`) && s.includes('INSTALL_K3S_VERSION="$version"'));
                assert.ok(s.trimEnd().split("\n").some((l) => l.endsWith(`sh "$installer" ${n.role === "control-plane" ? "server" : "agent"}`)));
                assert.ok(s.includes(`cat > ${K3S_PATHS.config}.new`));
                assert.equal(s.includes("/readyz"), n.role === "control-plane", `${n.name}: only servers wait for their API`);
                assert.equal(s.includes("INSTALL_K3S_SKIP_DOWNLOAD=true"), source === "airgap");
                // The install.sh of the pinned tag, never the moving https://get.k3s.io.
                assert.equal(s.includes("https://raw.githubusercontent.com/k3s-io/k3s/v1.33.5%2Bk3s1/install.sh"), source === "script");
                assert.ok(!s.includes("get.k3s.io"));
                const code = s.split("\n").filter((l) => !l.trimStart().startsWith("#"));
                assert.ok(!code.some((l) => /\|\s*(INSTALL_K3S_\w+=\S+\s+)*sh\b/.test(l)), "never pipes a download into sh");
            }
        }
    });

    it("uninstall runs the role's own uninstall script, then removes Calico's interfaces, rules and CNI files", () => {
        const plan = planOf(clusterConfig(1, 1));
        const server = uninstallScript(plan.nodes[0]);
        const agent = uninstallScript(plan.nodes[1]);
        assert.ok(server.includes(K3S_PATHS.serverUninstall) && !server.includes(K3S_PATHS.agentUninstall));
        assert.ok(agent.includes(K3S_PATHS.agentUninstall) && !agent.includes(K3S_PATHS.serverUninstall));
        for (const s of [server, agent]) {
            for (const leftover of ["cali*", "vxlan.calico", "vxlan-v6.calico", "tunl0", "cali-", "/etc/cni/net.d/10-calico.conflist", "iptables", "ip6tables"]) {
                assert.ok(s.includes(leftover), `uninstall does not handle ${leftover}`);
            }
        }
    });
});

describe("k3s: kubeconfig server rewrite", () => {
    const k3sYaml = [
        "apiVersion: v1",
        "clusters:",
        "- cluster:",
        "    certificate-authority-data: " + "QUJD".repeat(300),
        "    server: https://127.0.0.1:6443",
        "  name: default",
        "contexts:",
        "- context:",
        "    cluster: default",
        "    user: default",
        "  name: default",
        "current-context: default",
        "kind: Config",
        "preferences: {}",
        "users:",
        "- name: default",
        "  user:",
        "    client-certificate-data: " + "REVG".repeat(300),
        "    client-key-data: " + "R0hJ".repeat(300),
        "",
    ].join("\n");

    const cases: [string, string, string][] = [
        ["IPv4", "192.168.121.135", "https://192.168.121.135:6443"],
        ["IPv6 (brackets)", "fd45:a71:55a6:1::afea:3220", "https://[fd45:a71:55a6:1::afea:3220]:6443"],
        ["IPv6 written long (canonical, brackets)", "fd45:0a71:55a6:0001:0000:0000:afea:3220", "https://[fd45:a71:55a6:1::afea:3220]:6443"],
    ];
    for (const [what, host, url] of cases) {
        it(`${what}: points the cluster at ${url} and keeps everything else`, () => {
            const out = rewriteKubeconfigServer(k3sYaml, httpsUrl(host, 6443));
            const [before, after] = [parse(k3sYaml), parse(out)];
            assert.equal(after.clusters[0].cluster.server, url);
            after.clusters[0].cluster.server = before.clusters[0].cluster.server;
            assert.deepEqual(after, before);
        });
    }

    it("is idempotent and leaves empty (unknown or mocked) output alone", () => {
        const url = httpsUrl("fd45:a71:55a6:1::10", 6443);
        const once = rewriteKubeconfigServer(k3sYaml, url);
        assert.equal(rewriteKubeconfigServer(once, url), once);
        assert.equal(rewriteKubeconfigServer("", url), "");
    });

    it("property: any IPv6 API address ends up as one bracketed, canonical URL host", () => {
        fc.assert(
            fc.property(fc.ipV6(), (addr) => {
                const out = parse(rewriteKubeconfigServer(k3sYaml, httpsUrl(addr, 6443)));
                const u = new URL(out.clusters[0].cluster.server);
                assert.equal(u.hostname, `[${canonicalIPv6(addr)}]`);
                assert.equal(u.port, "6443");
            }),
            { numRuns: 200 },
        );
    });
});

describe("k3s: every rendered script passes shellcheck -s sh", () => {
    const airgapDir = tempDir("dualstack-airgap");
    const plans: [string, () => Plan][] = [
        ["lab-k3s", labPlan],
        ["3 servers + 8 agents, IPv6-primary", () => planOf(clusterConfig(3, 8, { network: V6_FIRST }))],
        ["air-gapped, sudo user", () => planOf(clusterConfig(2, 1, { install: { source: "airgap", airgapDir }, ssh: { user: "ubuntu", privateKeyPath: "/k" } }))],
    ];
    for (const [what, make] of plans) {
        it(what, function () {
            requireShellcheck(this);
            const plan = make();
            const dir = tempDir("dualstack-k3s-sh");
            const files = artifacts(plan)
                .filter((a) => a.path.endsWith(".sh"))
                .map((a) => {
                    const f = path.join(dir, a.path);
                    fs.mkdirSync(path.dirname(f), { recursive: true });
                    fs.writeFileSync(f, a.content);
                    return f;
                });
            assert.ok(files.length >= plan.nodes.length * 4, `only ${files.length} scripts rendered`);
            const r = shellcheck(["-s", "sh", ...files]);
            assert.equal(r.status, 0, r.stdout + r.stderr);
            fs.rmSync(dir, { recursive: true, force: true });
        });
    }
});
