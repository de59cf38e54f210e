import * as assert from "node:assert/strict";
import { loadPlan } from "../../../components/plan";
import { ConfigError, formatProblem } from "../../../components/problems";
import { baseConfig, ConfigInput, planOf, rawConfig, tryPlan } from "../../support/configs";

const net = (n: ConfigInput) => ({ network: { ...(baseConfig().network as object), ...n } });
const nodes = (...ns: ConfigInput[]) => ({ nodes: ns });
const cp = (o: ConfigInput = {}) => ({ name: "cp1", host: "192.168.121.135", role: "control-plane", interface: "eth0", ...o });
const wk = (i: number, o: ConfigInput = {}) => ({ name: `worker${i}`, host: `192.168.121.${140 + i}`, role: "worker", interface: "eth0", ...o });

interface Case {
    name: string;
    cfg: ConfigInput;
    key: string;
    rule: RegExp;
}

// One row per validation rule: the key it names and the words of its rule.
const refused: Case[] = [
    { name: "channel instead of a tag", cfg: { version: "latest" }, key: "dualstack:version", rule: /channel names are refused/ },
    { name: "k0s tag on k3s", cfg: { version: "v1.33.5+k0s.0" }, key: "dualstack:version", rule: /exact k3s release tag/ },
    { name: "k3s tag on k0s", cfg: { distribution: "k0s", version: "v1.33.5+k3s1" }, key: "dualstack:version", rule: /exact k0s release tag/ },
    { name: "k3s before stable dual-stack", cfg: { version: "v1.22.9+k3s1" }, key: "dualstack:version", rule: /stable only since v1.23.7/ },
    { name: "no SSH credential", cfg: { ssh: { user: "root" } }, key: "dualstack:ssh", rule: /exactly one of/ },
    { name: "two SSH credentials", cfg: { ssh: { privateKeyPath: "/k", agentSocketPath: "/a" } }, key: "dualstack:ssh", rule: /exactly one of/ },
    { name: "bad SSH user", cfg: { ssh: { user: "root;id", privateKeyPath: "/k" } }, key: "dualstack:ssh.user", rule: /Unix user/ },
    { name: "pod CIDR not a CIDR", cfg: net({ podCidrs: ["10.42.0.0", "fd45:a71:55a6:4200::/56"] }), key: "dualstack:network.podCidrs[0]", rule: /not a CIDR/ },
    { name: "pod CIDR with host bits", cfg: net({ podCidrs: ["10.42.0.0/16", "fd45:a71:55a6:42::/56"] }), key: "dualstack:network.podCidrs[1]", rule: /host bits/ },
    { name: "single-stack pod CIDRs", cfg: net({ podCidrs: ["10.42.0.0/16"] }), key: "dualstack:network.podCidrs", rule: /exactly one IPv4 and one IPv6/ },
    { name: "two IPv4 service CIDRs", cfg: net({ serviceCidrs: ["10.43.0.0/16", "10.44.0.0/16"] }), key: "dualstack:network.serviceCidrs", rule: /exactly one IPv4 and one IPv6/ },
    { name: "different primary families", cfg: net({ serviceCidrs: ["fd45:a71:55a6:43::/112", "10.43.0.0/16"] }), key: "dualstack:network.serviceCidrs[0]", rule: /same primary family/ },
    { name: "IPv6 service CIDR larger than /108", cfg: net({ serviceCidrs: ["10.43.0.0/16", "fd45:a71:55a6:43::/100"] }), key: "dualstack:network.serviceCidrs", rule: /larger than \/108/ },
    { name: "IPv4 service CIDR larger than /12", cfg: net({ serviceCidrs: ["10.0.0.0/8", "fd45:a71:55a6:43::/112"] }), key: "dualstack:network.serviceCidrs", rule: /larger than \/12/ },
    { name: "pod and service CIDRs overlap (IPv4)", cfg: net({ serviceCidrs: ["10.42.128.0/17", "fd45:a71:55a6:43::/112"] }), key: "dualstack:network.podCidrs (IPv4)", rule: /overlaps dualstack:network.serviceCidrs \(IPv4\)/ },
    { name: "node prefix overlaps pods (IPv6)", cfg: net({ nodeIpv6Prefix: "fd45:a71:55a6:4201::/64" }), key: "dualstack:network.podCidrs (IPv6)", rule: /overlaps dualstack:network.nodeIpv6Prefix/ },
    { name: "link-local node prefix", cfg: net({ nodeIpv6Prefix: "fe80::/64" }), key: "dualstack:network.nodeIpv6Prefix", rule: /link-local/ },
    { name: "node mask not longer than pod prefix", cfg: net({ nodeCidrMaskSizes: { ipv4: 16, ipv6: 64 } }), key: "dualstack:network.nodeCidrMaskSizes.ipv4", rule: /must be longer/ },
    { name: "IPv6 node mask more than 16 bits below the cluster prefix", cfg: net({ nodeCidrMaskSizes: { ipv4: 24, ipv6: 80 } }), key: "dualstack:network.nodeCidrMaskSizes.ipv6", rule: /at most 16 bits/ },
    {
        name: "too few node subnets for the nodes",
        cfg: { ...net({ podCidrs: ["10.42.0.0/24", "fd45:a71:55a6:4200::/56"], nodeCidrMaskSizes: { ipv4: 24, ipv6: 64 } }) },
        key: "dualstack:network.nodeCidrMaskSizes.ipv4",
        rule: /must be longer/,
    },
    {
        name: "a 3-node lab with room for one node",
        cfg: { ...net({ podCidrs: ["10.42.0.0/23", "fd45:a71:55a6:4200::/56"], nodeCidrMaskSizes: { ipv4: 24, ipv6: 64 } }) },
        key: "dualstack:network.nodeCidrMaskSizes.ipv4",
        rule: /gives 2 node subnet\(s\) for 3 nodes/,
    },
    { name: "no control plane", cfg: nodes(wk(1), wk(2)), key: "dualstack:nodes", rule: /no control-plane/ },
    { name: "duplicate node names", cfg: nodes(cp(), cp({ host: "192.168.121.140" })), key: "dualstack:nodes[1].name", rule: /repeats the name/ },
    { name: "node name with shell metacharacters", cfg: nodes(cp({ name: "cp1;reboot" })), key: "dualstack:nodes[0].name", rule: /not a valid Kubernetes node name/ },
    { name: "hostile interface", cfg: nodes(cp({ interface: "eth0;touch /tmp/pwned" })), key: "dualstack:nodes[0].interface", rule: /not a valid Linux interface name/ },
    { name: "interface name too long", cfg: nodes(cp({ interface: "enp0s31f6abcdefgh" })), key: "dualstack:nodes[0].interface", rule: /not a valid Linux interface name/ },
    { name: "host with a zone", cfg: nodes(cp({ host: "fe80::1%eth0", ipv4: "192.168.121.135" })), key: "dualstack:nodes[0].host", rule: /neither/ },
    { name: "missing IPv4 for a DNS host", cfg: nodes(cp({ host: "cp1.lab.example" })), key: "dualstack:nodes[0].ipv4", rule: /required when host is not an IPv4 literal/ },
    { name: "duplicate IPv4", cfg: nodes(cp(), wk(1, { host: "192.168.121.135" })), key: "dualstack:nodes[1].ipv4", rule: /repeats the address/ },
    { name: "link-local node IPv6", cfg: nodes(cp({ ipv6: "fe80::10/64" })), key: "dualstack:nodes[0].ipv6", rule: /IsGlobalUnicast/ },
    { name: "subnet-router anycast node IPv6", cfg: { ...nodes(cp({ ipv6: "21da:d3::/48" })), network: { podCidrs: ["10.42.0.0/16", "fd45:a71:55a6:4200::/56"], serviceCidrs: ["10.43.0.0/16", "fd45:a71:55a6:43::/112"] } }, key: "dualstack:nodes[0].ipv6", rule: /subnet-router anycast/ },
    { name: "node IPv6 outside the node prefix", cfg: nodes(cp({ ipv6: "fd45:a71:55a6:2::10/64" })), key: "dualstack:nodes[0].ipv6", rule: /outside network.nodeIpv6Prefix/ },
    { name: "node IPv6 with another prefix length", cfg: nodes(cp({ ipv6: "fd45:a71:55a6:1::10/80" })), key: "dualstack:nodes[0].ipv6", rule: /prefix length \/80/ },
    { name: "duplicate node IPv6", cfg: nodes(cp({ ipv6: "fd45:a71:55a6:1::10" }), wk(1, { ipv6: "fd45:a71:55a6:1:0::10" })), key: "dualstack:nodes[1].ipv6", rule: /repeats the address/ },
    { name: "node IPv6 required without a prefix", cfg: { network: { podCidrs: ["10.42.0.0/16", "fd45:a71:55a6:4200::/56"], serviceCidrs: ["10.43.0.0/16", "fd45:a71:55a6:43::/112"] } }, key: "dualstack:nodes[0].ipv6", rule: /required when network.nodeIpv6Prefix is not set/ },
    { name: "node IPv4 inside the pod CIDR", cfg: nodes(cp({ host: "10.42.0.5" })), key: "dualstack:nodes[0].ipv4", rule: /inside network.podCidrs/ },
    { name: "bad host key", cfg: nodes(cp({ hostKey: "not-a-key" })), key: "dualstack:nodes[0].hostKey", rule: /authorized_keys/ },
    { name: "bad label", cfg: nodes(cp({ labels: { "bad key!": "x" } })), key: "dualstack:nodes[0].labels.bad key!", rule: /label/ },
    { name: "bad taint", cfg: nodes(cp({ taints: ["dedicated=infra"] })), key: "dualstack:nodes[0].taints[0]", rule: /taint/ },
    { name: "Calico version not a tag", cfg: { calico: { version: "3.32" } }, key: "dualstack:calico.version", rule: /Calico release tag/ },
    { name: "IPIP on the IPv6 pool", cfg: { calico: { encapsulation: { ipv6: "IPIP" } } }, key: "dualstack:calico.encapsulation.ipv6", rule: /IPIP encapsulation is not supported by IPv6 pools/ },
    { name: "IPv6 VXLAN before Calico 3.23", cfg: { calico: { version: "v3.22.1", mode: "vxlan" } }, key: "dualstack:calico.encapsulation.ipv6", rule: /v3.23/ },
    { name: "operator chart before Calico 3.23", cfg: { calico: { version: "v3.22.1" } }, key: "dualstack:calico.version", rule: /tigera-operator namespace only from Calico v3.23/ },
    { name: "VXLAN in bird mode", cfg: { calico: { mode: "bird", encapsulation: { ipv4: "VXLAN" } } }, key: "dualstack:calico.encapsulation", rule: /does not fit mode bird/ },
    { name: "unencapsulated pool without BGP (vxlan mode)", cfg: { calico: { mode: "vxlan", encapsulation: { ipv6: "None" } } }, key: "dualstack:calico.encapsulation", rule: /without BGP/ },
    { name: "IPv4 block size out of range", cfg: { calico: { blockSizes: { ipv4: 19, ipv6: 122 } } }, key: "dualstack:calico.blockSizes.ipv4", rule: /20-32/ },
    { name: "IPv6 block size out of range", cfg: { calico: { blockSizes: { ipv4: 26, ipv6: 112 } } }, key: "dualstack:calico.blockSizes.ipv6", rule: /116-128/ },
    { name: "IPv4 block larger than the pool", cfg: { ...net({ podCidrs: ["10.42.0.0/24", "fd45:a71:55a6:4200::/56"], nodeCidrMaskSizes: { ipv4: 26, ipv6: 64 } }), calico: { blockSizes: { ipv4: 22, ipv6: 122 } } }, key: "dualstack:calico.blockSizes.ipv4", rule: /shorter than the IPv4 pool prefix/ },
    { name: "k0s-managed Calico in vxlan mode", cfg: { distribution: "k0s", version: "v1.34.1+k0s.0", calico: { mode: "vxlan" } }, key: "dualstack:calico.mode", rule: /only supported for mode bird/ },
    { name: "network.provider on k3s", cfg: net({ provider: "custom" }), key: "dualstack:network.provider", rule: /only applies to k0s/ },
    { name: "Traefik chart below 40", cfg: { traefik: { chartVersion: "39.0.0" } }, key: "dualstack:traefik.chartVersion", rule: /below 40.0.0/ },
    { name: "ServiceLB on k0s", cfg: { distribution: "k0s", version: "v1.34.1+k0s.0", traefik: { loadBalancer: "servicelb" } }, key: "dualstack:traefik.loadBalancer", rule: /ServiceLB is part of k3s/ },
    { name: "externalIPs of one family", cfg: { traefik: { loadBalancer: "externalIPs", externalIPs: ["192.168.121.200"] } }, key: "dualstack:traefik.externalIPs", rule: /both families/ },
    { name: "MetalLB pool missing a family", cfg: { traefik: { loadBalancer: "metallb" }, metallb: { addresses: ["192.168.121.200-192.168.121.220"] } }, key: "dualstack:metallb.addresses", rule: /both families/ },
    { name: "airgap without a folder", cfg: { install: { source: "airgap" } }, key: "dualstack:install.airgapDir", rule: /required with install.source airgap/ },
    { name: "removed IPv6DualStack feature gate", cfg: { cluster: { extraArgs: { apiServer: ["feature-gates=IPv6DualStack=true"] } } }, key: "dualstack:cluster.extraArgs.apiServer[0]", rule: /removed in Kubernetes 1.25/ },
    { name: "unsuffixed node mask flag", cfg: { cluster: { extraArgs: { controllerManager: ["node-cidr-mask-size=24"] } } }, key: "dualstack:cluster.extraArgs.controllerManager[0]", rule: /refuses --node-cidr-mask-size/ },
    { name: "a flag the plan sets", cfg: { cluster: { extraArgs: { kubelet: ["node-ip=10.0.0.1"] } } }, key: "dualstack:cluster.extraArgs.kubelet[0]", rule: /the plan sets node-ip/ },
    { name: "shell text in an extra arg", cfg: { cluster: { extraArgs: { kubelet: ["v=2;id"] } } }, key: "dualstack:cluster.extraArgs.kubelet[0]", rule: /key=value/ },
    { name: "k0s controllers without workloads and no workers", cfg: { distribution: "k0s", version: "v1.36.3+k0s.2", cluster: { controllersRunWorkloads: false }, nodes: [cp(), cp({ name: "cp2", host: "192.168.121.140" })] }, key: "dualstack:cluster.controllersRunWorkloads", rule: /nothing could run pods/ },
    { name: "kubelet hostname override", cfg: { cluster: { extraArgs: { kubelet: ["hostname-override=x"] } } }, key: "dualstack:cluster.extraArgs.kubelet[0]", rule: /the plan sets hostname-override/ },
    { name: "token expiry not a duration", cfg: { cluster: { tokenExpiry: "soon" } }, key: "dualstack:cluster.tokenExpiry", rule: /duration/ },
    { name: "probe image with shell text", cfg: { checks: { probeImage: "busybox;id" } }, key: "dualstack:checks.probeImage", rule: /image reference/ },
    { name: "egress target not IPv6", cfg: { checks: { egressTarget: "1.1.1.1" } }, key: "dualstack:checks.egressTarget", rule: /must be an IPv6 address/ },
];

describe("network plan: every validation rule refuses its bad input and names the key", () => {
    for (const c of refused) {
        it(c.name, () => {
            const { plan, problems } = tryPlan(baseConfig(c.cfg));
            assert.equal(plan, undefined);
            const hit = problems.errors.find((e) => e.key === c.key && c.rule.test(e.rule));
            assert.ok(hit, `no problem at ${c.key} matching ${c.rule}; got:\n${problems.errors.map((e) => `  ${e.key}: ${e.rule}`).join("\n")}`);
            assert.ok(hit.fix.length > 0, "every problem says how to fix it");
        });
    }
});

describe("network plan: accepted inputs", () => {
    const good: [string, ConfigInput][] = [
        ["the lab defaults", {}],
        ["IPv6-primary", net({ podCidrs: ["fd45:a71:55a6:4200::/56", "10.42.0.0/16"], serviceCidrs: ["fd45:a71:55a6:43::/112", "10.43.0.0/16"] })],
        ["an IPv6 literal SSH host", nodes(cp({ host: "fd45:a71:55a6:1::99", ipv4: "192.168.121.135" }))],
        ["a DNS SSH host with ipv4", nodes(cp({ host: "cp1.lab.example", ipv4: "192.168.121.135" }))],
        ["explicit node IPv6 without prefix", { ...nodes(cp({ ipv6: "fd45:a71:55a6:5::10/64" })), network: { podCidrs: ["10.42.0.0/16", "fd45:a71:55a6:4200::/56"], serviceCidrs: ["10.43.0.0/16", "fd45:a71:55a6:43::/112"] } }],
        ["k0s with its defaults", { distribution: "k0s", version: "v1.36.3+k0s.2" }],
        ["k0s with operator Calico in vxlan mode", { distribution: "k0s", version: "v1.36.3+k0s.2", network: { ...(baseConfig().network as object), provider: "custom" }, calico: { mode: "vxlan" } }],
        ["MetalLB with both families", { traefik: { loadBalancer: "metallb" }, metallb: { addresses: ["192.168.121.200-192.168.121.220", "fd45:a71:55a6:1::200/124"] } }],
        ["externalIPs of both families", { traefik: { loadBalancer: "externalIPs", externalIPs: ["192.168.121.200", "fd45:a71:55a6:1::200"] } }],
        ["an IPv6 service CIDR of exactly /108", net({ serviceCidrs: ["10.43.0.0/16", "fd45:a71:55a6:43::/108"] })],
        ["a k3s release candidate tag", { version: "v1.34.0-rc1+k3s1" }],
    ];
    for (const [name, cfg] of good) {
        it(name, () => {
            const plan = planOf(baseConfig(cfg));
            assert.equal(plan.nodes.length, (baseConfig(cfg).nodes as unknown[]).length);
        });
    }

    it("reports every problem at once", () => {
        const { problems } = tryPlan(
            baseConfig({
                version: "stable",
                nodes: [cp({ interface: "eth0;touch /tmp/pwned" }), wk(1, { ipv6: "fe80::1" })],
                calico: { encapsulation: { ipv6: "IPIP" } },
            }),
        );
        const keys = problems.errors.map((e) => e.key);
        for (const k of ["dualstack:version", "dualstack:nodes[0].interface", "dualstack:nodes[1].ipv6", "dualstack:calico.encapsulation.ipv6"]) {
            assert.ok(keys.includes(k), `missing ${k} in ${keys.join(", ")}`);
        }
    });

    it("warns on the documentation prefix and deprecated site-local addresses", () => {
        const doc = tryPlan(baseConfig(net({ nodeIpv6Prefix: "2001:db8:1::/64" })));
        assert.ok(doc.plan);
        assert.ok(doc.problems.warnings.some((w) => /2001:db8::\/32/.test(w.rule)));
        const site = tryPlan(baseConfig({ ...nodes(cp({ ipv6: "fec0::10/64" })), network: { podCidrs: ["10.42.0.0/16", "fd45:a71:55a6:4200::/56"], serviceCidrs: ["10.43.0.0/16", "fd45:a71:55a6:43::/112"] } }));
        assert.ok(site.plan);
        assert.ok(site.problems.warnings.some((w) => /fec0::\/10/.test(w.rule)));
    });
});

describe("network plan: derived values", () => {
    it("orders everything by the primary family", () => {
        const v4 = planOf();
        assert.equal(v4.primaryFamily, "IPv4");
        assert.deepEqual(v4.podCidrs.ordered, ["10.42.0.0/16", "fd45:a71:55a6:4200::/56"]);
        assert.deepEqual(v4.nodes[0].nodeIps, [v4.nodes[0].ipv4, v4.nodes[0].ipv6]);
        const v6 = planOf(baseConfig(net({ podCidrs: ["fd45:a71:55a6:4200::/56", "10.42.0.0/16"], serviceCidrs: ["fd45:a71:55a6:43::/112", "10.43.0.0/16"] })));
        assert.equal(v6.primaryFamily, "IPv6");
        assert.deepEqual(v6.families, ["IPv6", "IPv4"]);
        assert.deepEqual(v6.nodes[0].nodeIps, [v6.nodes[0].ipv6, v6.nodes[0].ipv4]);
        assert.equal(v6.api.url, `https://[${v6.nodes[0].ipv6}]:6443`);
    });

    it("computes capacity, cluster DNS and autodetection from the CIDRs", () => {
        const p = planOf();
        assert.deepEqual(p.capacity.nodeSubnets, { ipv4: 256, ipv6: 256 });
        assert.equal(p.capacity.podsPerNode.ipv4, "256");
        assert.equal(p.capacity.services.ipv6, "65536");
        assert.deepEqual(p.clusterDns.ordered, ["10.43.0.10", "fd45:a71:55a6:43::a"]);
        assert.equal(p.autodetection.ipv6Method, "cidr=fd45:a71:55a6:1::/64");
        assert.ok(!p.autodetection.ipv6Method.includes("first-found"));
        assert.equal(p.api.url, "https://192.168.121.135:6443");
    });

    it("keeps given node addresses in canonical form", () => {
        const p = planOf(baseConfig(nodes(cp({ ipv6: "FD45:0A71:55A6:0001:0000:0000:0000:0010/64" }))));
        assert.equal(p.nodes[0].ipv6, "fd45:a71:55a6:1::10");
        assert.equal(p.nodes[0].ipv6Cidr, "fd45:a71:55a6:1::10/64");
        assert.equal(p.nodes[0].ipv6Derived, false);
    });

    it("loadPlan throws a ConfigError with every message formatted as key, value, rule, fix", () => {
        const raw = rawConfig(baseConfig({ version: "latest", nodes: [cp({ interface: "eth0;touch /tmp/pwned" })] }));
        try {
            loadPlan((k) => raw[k], "t", Object.keys(raw));
            assert.fail("expected a ConfigError");
        } catch (e) {
            assert.ok(e instanceof ConfigError);
            assert.equal(e.problems.length, 2);
            assert.match(e.message, /dualstack:nodes\[0\]\.interface = "eth0;touch \/tmp\/pwned": is not a valid Linux interface name .* Fix: /);
            assert.match(formatProblem(e.problems[0]), /^dualstack:version = "latest": .* Fix: pin an exact release tag/);
        }
    });

    it("never prints a private key or token in a problem report", () => {
        const raw = rawConfig(
            baseConfig({
                token: "SECRET-short-token",
                ssh: { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----SECRETKEY", prot: 22, proxy: { host: "jump", privateKey: "PROXYSECRET", bogus: 1 } },
            }),
        );
        try {
            loadPlan((k) => raw[k], "t", Object.keys(raw));
            assert.fail("expected a ConfigError");
        } catch (e) {
            assert.ok(e instanceof ConfigError);
            assert.ok(e.problems.length >= 3);
            for (const secret of ["SECRET-short-token", "SECRETKEY", "PROXYSECRET"]) assert.ok(!e.message.includes(secret), `${secret} leaked:\n${e.message}`);
            assert.match(e.message, /\(secret\)/);
        }
    });

    it("loadPlan refuses unknown dualstack keys and shape errors with the key path", () => {
        const raw: Record<string, string> = { ...rawConfig(baseConfig({ calico: { mode: "bgp" } })), "dualstack:calicoo": "{}" };
        assert.throws(
            () => loadPlan((k) => raw[k], "t", Object.keys(raw)),
            (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.key === "dualstack:calicoo") && e.problems.some((p) => p.key === "dualstack:calico.mode" && /"bird", "vxlan"/.test(p.fix)),
        );
    });
});
