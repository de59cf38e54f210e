// kubeadm: the plan rules (refusals before any host is touched) and the rendered documents, each
// set validated by the real `kubeadm config validate` (test/support/kubeadm.ts finds the binary).
import * as assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { fillSecrets, kubeadmApiVersion, renderKubeadmConfig } from "../../../components/kubeadm/config";
import type { Plan } from "../../../components/plan";
import { baseConfig, ConfigInput, planOf, tryPlan } from "../../support/configs";
import { itWithKubeadm, kubeadmValidate } from "../../support/kubeadm";

/** The kubeadm the tests validate with is v1.36.3; kubeadm refuses control planes older than one minor below itself. */
const VERSION = "v1.36.3";

function cfg(o: ConfigInput = {}): ConfigInput {
    return baseConfig({ distribution: "kubeadm", version: VERSION, traefik: { loadBalancer: "none" }, ...o });
}

const docs = (plan: Plan, node: string) => parseAllDocuments(renderKubeadmConfig(plan, plan.nodes.find((n) => n.name === node)!)).map((d) => d.toJS());
const byKind = (plan: Plan, node: string, kind: string) => docs(plan, node).find((d) => d.kind === kind);

const FAKE = { token: "abcdef.0123456789abcdef", caCertHash: `sha256:${"a".repeat(64)}`, certificateKey: "b".repeat(64) };

const HA = [
    { name: "cp1", host: "192.168.121.135", role: "control-plane", interface: "eth0" },
    { name: "cp2", host: "192.168.121.136", role: "control-plane", interface: "eth0" },
    { name: "cp3", host: "192.168.121.137", role: "control-plane", interface: "eth0" },
    { name: "worker1", host: "192.168.121.140", role: "worker", interface: "eth0" },
];

describe("kubeadm: plan rules", () => {
    it("a plain vX.Y.Z from v1.23.0 on is a valid kubeadm version; the default load balancer is none", () => {
        for (const v of ["v1.23.0", "v1.30.9", "v1.36.3"]) {
            const plan = planOf(cfg({ version: v, install: { source: "airgap", airgapDir: "/srv/k8s" } }));
            assert.equal(plan.distribution, "kubeadm");
        }
        assert.equal(planOf(baseConfig({ distribution: "kubeadm", version: VERSION })).traefik.loadBalancer, "none");
    });

    const refusals: [string, ConfigInput, string, RegExp][] = [
        ["a k3s tag", { version: "v1.33.5+k3s1" }, "dualstack:version", /not an exact kubeadm release tag \(vMAJOR\.MINOR\.PATCH\)/],
        ["a prerelease", { version: "v1.36.0-rc.1" }, "dualstack:version", /vMAJOR\.MINOR\.PATCH/],
        ["no leading v", { version: "1.36.3" }, "dualstack:version", /vMAJOR\.MINOR\.PATCH/],
        ["Kubernetes 1.22 (dual-stack not GA)", { version: "v1.22.17", install: { source: "airgap", airgapDir: "/srv" } }, "dualstack:version", /dual-stack is stable only since v1\.23\.0/],
        ["1.23 from pkgs.k8s.io (packages from 1.24 on)", { version: "v1.23.17" }, "dualstack:version", /pkgs\.k8s\.io has kubeadm packages only from v1\.24\.0/],
        ["servicelb", { traefik: { loadBalancer: "servicelb" } }, "dualstack:traefik.loadBalancer", /kubeadm has no built-in load balancer/],
        ["the IPv6DualStack gate on 1.36", { cluster: { extraArgs: { apiServer: ["feature-gates=IPv6DualStack=true"] } } }, "dualstack:cluster.extraArgs.apiServer[0]", /IPv6DualStack feature gate was removed/],
        ["the IPv6DualStack gate on 1.24", { version: "v1.24.17", cluster: { extraArgs: { kubelet: ["feature-gates=Foo=true,IPv6DualStack=true"] } } }, "dualstack:cluster.extraArgs.kubelet[0]", /kubeadm needs no dual-stack feature gate/],
        ["kube-proxy flags", { cluster: { extraArgs: { kubeProxy: ["v=2"] } } }, "dualstack:cluster.extraArgs.kubeProxy[0]", /takes no kube-proxy flags/],
        ["node-ip in kubelet args", { cluster: { extraArgs: { kubelet: ["node-ip=10.0.0.1"] } } }, "dualstack:cluster.extraArgs.kubelet[0]", /the plan sets node-ip itself/],
        ["an unknown proxy mode", { cluster: { kubeProxyMode: "userspace" } }, "dualstack:cluster.kubeProxyMode", /./],
        ["nftables before 1.31", { version: "v1.30.9", cluster: { kubeProxyMode: "nftables" } }, "dualstack:cluster.kubeProxyMode", /nftables mode is beta only from Kubernetes 1\.31/],
    ];
    for (const [label, o, key, rule] of refusals) {
        it(`refuses ${label}: names ${key}, the value, the rule and a fix`, () => {
            const { plan, problems } = tryPlan(cfg(o));
            assert.equal(plan, undefined);
            const p = problems.errors.find((e) => e.key === key);
            assert.ok(p, `no problem for ${key}: ${JSON.stringify(problems.errors)}`);
            assert.match(p!.rule, rule);
            if (!key.endsWith("kubeProxyMode") || !label.includes("unknown")) {
                assert.notEqual(p!.value, undefined);
                assert.ok(p!.fix.length > 0);
            }
        });
    }

    it("reports every problem at once", () => {
        const { problems } = tryPlan(cfg({ version: "v1.24.17", traefik: { loadBalancer: "servicelb" }, cluster: { extraArgs: { kubeProxy: ["v=2"], apiServer: ["feature-gates=IPv6DualStack=true"] } } }));
        const keys = problems.errors.map((e) => e.key).sort();
        assert.deepEqual(keys, ["dualstack:cluster.extraArgs.apiServer[0]", "dualstack:cluster.extraArgs.kubeProxy[0]", "dualstack:traefik.loadBalancer"]);
    });

    it("warns that ipvs is deprecated from 1.35 and that dualstack:token is ignored", () => {
        const plan = planOf(cfg({ cluster: { kubeProxyMode: "ipvs" }, token: "x".repeat(40) }));
        const keys = plan.warnings.map((w) => w.key);
        assert.ok(keys.includes("dualstack:cluster.kubeProxyMode"));
        assert.ok(keys.includes("dualstack:token"));
        assert.ok(!planOf(cfg({ version: "v1.34.2", cluster: { kubeProxyMode: "ipvs" } })).warnings.some((w) => w.key === "dualstack:cluster.kubeProxyMode"));
    });
});

describe("kubeadm: rendered documents", () => {
    it("API version: v1beta4 from 1.31, v1beta3 before", () => {
        const table: [string, string][] = [["v1.23.0", "kubeadm.k8s.io/v1beta3"], ["v1.30.9", "kubeadm.k8s.io/v1beta3"], ["v1.31.0", "kubeadm.k8s.io/v1beta4"], ["v1.36.3", "kubeadm.k8s.io/v1beta4"]];
        for (const [v, api] of table) {
            const plan = planOf(cfg({ version: v, install: { source: "airgap", airgapDir: "/srv" } }));
            assert.equal(kubeadmApiVersion(plan), api, v);
            for (const d of docs(plan, "cp1").filter((x) => x.kind !== "KubeProxyConfiguration")) assert.equal(d.apiVersion, api);
        }
    });

    it("first control plane: Init + Cluster + KubeProxy configuration with the plan's networks, masks, endpoint, SANs and node-ip", () => {
        const plan = planOf(cfg({ cluster: { kubeProxyMode: "ipvs" } }));
        const init = byKind(plan, "cp1", "InitConfiguration");
        assert.deepEqual(init.localAPIEndpoint, { advertiseAddress: "192.168.121.135", bindPort: 6443 });
        assert.deepEqual(init.nodeRegistration.kubeletExtraArgs, [{ name: "node-ip", value: plan.nodes[0].nodeIps.join(",") }]);
        assert.equal(init.nodeRegistration.name, "cp1");
        assert.equal(init.bootstrapTokens[0].token, "@@token@@");
        assert.equal(init.certificateKey, "@@certificateKey@@");
        const cc = byKind(plan, "cp1", "ClusterConfiguration");
        assert.equal(cc.kubernetesVersion, VERSION);
        assert.equal(cc.networking.podSubnet, "10.42.0.0/16,fd45:a71:55a6:4200::/56");
        assert.equal(cc.networking.serviceSubnet, "10.43.0.0/16,fd45:a71:55a6:43::/112");
        assert.equal(cc.controlPlaneEndpoint, "192.168.121.135:6443");
        assert.deepEqual(cc.apiServer.certSANs, ["192.168.121.135", plan.nodes[0].ipv6]);
        assert.deepEqual(cc.controllerManager.extraArgs, [{ name: "node-cidr-mask-size-ipv4", value: "24" }, { name: "node-cidr-mask-size-ipv6", value: "64" }]);
        const kp = byKind(plan, "cp1", "KubeProxyConfiguration");
        assert.deepEqual(kp, { apiVersion: "kubeproxy.config.k8s.io/v1alpha1", kind: "KubeProxyConfiguration", mode: "ipvs", clusterCIDR: "10.42.0.0/16,fd45:a71:55a6:4200::/56" });
        // No dual-stack feature gate anywhere.
        assert.ok(!renderKubeadmConfig(plan, plan.nodes[0]).includes("IPv6DualStack"));
    });

    it("IPv6 primary: every list starts with IPv6, the endpoint is bracketed", () => {
        const plan = planOf(cfg({ network: { nodeIpv6Prefix: "fd45:a71:55a6:1::/64", podCidrs: ["fd45:a71:55a6:4200::/56", "10.42.0.0/16"], serviceCidrs: ["fd45:a71:55a6:43::/112", "10.43.0.0/16"] } }));
        const cc = byKind(plan, "cp1", "ClusterConfiguration");
        assert.equal(cc.networking.podSubnet, "fd45:a71:55a6:4200::/56,10.42.0.0/16");
        assert.equal(cc.controlPlaneEndpoint, `[${plan.nodes[0].ipv6}]:6443`);
        const join = byKind(plan, "worker1", "JoinConfiguration");
        assert.equal(join.discovery.bootstrapToken.apiServerEndpoint, `[${plan.nodes[0].ipv6}]:6443`);
        assert.equal(join.nodeRegistration.kubeletExtraArgs[0].value, `${plan.nodes[1].ipv6},${plan.nodes[1].ipv4}`);
        assert.equal(byKind(plan, "cp1", "InitConfiguration").localAPIEndpoint.advertiseAddress, plan.nodes[0].ipv6);
    });

    it("HA: certSANs hold every control-plane address of both families; control planes join with their own endpoint and the certificate key, workers without", () => {
        const plan = planOf(cfg({ nodes: HA }));
        const sans = byKind(plan, "cp1", "ClusterConfiguration").apiServer.certSANs as string[];
        for (const cp of plan.controlPlanes) assert.ok(sans.includes(cp.ipv4) && sans.includes(cp.ipv6), cp.name);
        assert.ok(!sans.includes(plan.workers[0].ipv4));
        const cp2 = byKind(plan, "cp2", "JoinConfiguration");
        assert.deepEqual(cp2.controlPlane, { localAPIEndpoint: { advertiseAddress: "192.168.121.136", bindPort: 6443 }, certificateKey: "@@certificateKey@@" });
        assert.equal(byKind(plan, "worker1", "JoinConfiguration").controlPlane, undefined);
        assert.deepEqual(byKind(plan, "worker1", "JoinConfiguration").discovery.bootstrapToken, { apiServerEndpoint: "192.168.121.135:6443", token: "@@token@@", caCertHashes: ["@@caCertHash@@"] });
    });

    it("taints: control planes run workloads by default (empty list); without it kubeadm's control-plane taint; node taints added", () => {
        const open = planOf(cfg());
        assert.deepEqual(byKind(open, "cp1", "InitConfiguration").nodeRegistration.taints, []);
        const closed = planOf(cfg({ cluster: { controllersRunWorkloads: false }, nodes: [{ name: "cp1", host: "192.168.121.135", role: "control-plane", interface: "eth0", taints: ["dedicated=infra:NoExecute"] }, { name: "w1", host: "192.168.121.136", role: "worker", interface: "eth0", taints: ["gpu:NoSchedule"] }] }));
        assert.deepEqual(byKind(closed, "cp1", "InitConfiguration").nodeRegistration.taints, [
            { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" },
            { key: "dedicated", value: "infra", effect: "NoExecute" },
        ]);
        assert.deepEqual(byKind(closed, "w1", "JoinConfiguration").nodeRegistration.taints, [{ key: "gpu", effect: "NoSchedule" }]);
    });

    it("extra args: v1beta4 name/value lists, v1beta3 maps, sorted; the plan's masks stay", () => {
        const args = { apiServer: ["v=2", "audit-log-maxage=7"], controllerManager: ["v=3"], kubelet: ["max-pods=150"] };
        const b4 = planOf(cfg({ cluster: { extraArgs: args } }));
        assert.deepEqual(byKind(b4, "cp1", "ClusterConfiguration").apiServer.extraArgs, [{ name: "audit-log-maxage", value: "7" }, { name: "v", value: "2" }]);
        assert.equal(byKind(b4, "cp1", "ClusterConfiguration").controllerManager.extraArgs.length, 3);
        const b3 = planOf(cfg({ version: "v1.30.9", cluster: { extraArgs: args } }));
        assert.deepEqual(byKind(b3, "cp1", "ClusterConfiguration").apiServer.extraArgs, { "audit-log-maxage": "7", v: "2" });
        assert.deepEqual(byKind(b3, "worker1", "JoinConfiguration").nodeRegistration.kubeletExtraArgs, { "max-pods": "150", "node-ip": b3.nodes[1].nodeIps.join(",") });
    });

    it("deterministic and independent of node order; no secret value in any rendered text", () => {
        const a = planOf(cfg());
        const b = planOf(cfg({ nodes: [...(cfg().nodes as unknown[])].reverse().sort((x: any, y: any) => (x.role === "control-plane" ? -1 : y.role === "control-plane" ? 1 : 0)) }));
        for (const n of a.nodes) assert.equal(renderKubeadmConfig(a, n), renderKubeadmConfig(b, b.nodes.find((m) => m.name === n.name)!));
        for (const n of a.nodes) assert.doesNotMatch(renderKubeadmConfig(a, n), /[a-z0-9]{6}\.[a-z0-9]{16}/);
    });

    it("fillSecrets replaces every placeholder and leaves valid YAML", () => {
        const plan = planOf(cfg({ nodes: HA }));
        for (const n of plan.nodes) {
            const filled = fillSecrets(renderKubeadmConfig(plan, n), FAKE);
            assert.doesNotMatch(filled, /@@/);
            assert.ok(parseAllDocuments(filled).every((d) => d.errors.length === 0));
        }
        assert.equal(parse(fillSecrets('token: "@@token@@"', FAKE)).token, FAKE.token);
    });
});

describe("kubeadm: the real kubeadm validates every rendered set", () => {
    const shapes: [string, ConfigInput][] = [
        ["1 control plane + 2 workers, IPv4 primary, iptables", cfg()],
        ["HA (3 control planes + worker), ipvs, extra args", cfg({ nodes: HA, cluster: { kubeProxyMode: "ipvs", extraArgs: { apiServer: ["v=2"], controllerManager: ["v=2"], kubelet: ["max-pods=150"] } } })],
        ["IPv6 primary, nftables, control planes tainted", cfg({ cluster: { kubeProxyMode: "nftables", controllersRunWorkloads: false }, network: { nodeIpv6Prefix: "fd45:a71:55a6:1::/64", podCidrs: ["fd45:a71:55a6:4200::/56", "10.42.0.0/16"], serviceCidrs: ["fd45:a71:55a6:43::/112", "10.43.0.0/16"], nodeCidrMaskSizes: { ipv4: 25, ipv6: 72 } } })],
        ["Kubernetes 1.35 (kubeadm's oldest supported control plane)", cfg({ version: "v1.35.4" })],
    ];
    for (const [label, c] of shapes) {
        itWithKubeadm(`${label}: kubeadm config validate passes every node's documents`, (kubeadm) => {
            const plan = planOf(c);
            for (const n of plan.nodes) {
                const r = kubeadmValidate(kubeadm, fillSecrets(renderKubeadmConfig(plan, n), FAKE));
                assert.equal(r.status, 0, `${n.name}:\n${r.output}`);
            }
        });
    }

    itWithKubeadm("negative controls: kubeadm refuses a too-large IPv6 service subnet, an unfilled token and an unknown field", (kubeadm) => {
        const plan = planOf(cfg());
        const text = fillSecrets(renderKubeadmConfig(plan, plan.nodes[0]), FAKE);
        assert.notEqual(kubeadmValidate(kubeadm, text.replace("fd45:a71:55a6:43::/112", "fd45:a71:55a6:43::/64")).status, 0);
        assert.notEqual(kubeadmValidate(kubeadm, renderKubeadmConfig(plan, plan.nodes[0])).status, 0);
        assert.notEqual(kubeadmValidate(kubeadm, text.replace("kind: ClusterConfiguration", "kind: ClusterConfiguration\npodSubnet: 10.0.0.0/8")).status, 0);
    });
});
