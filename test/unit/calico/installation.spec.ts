import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as fc from "fast-check";
import { parse } from "yaml";
import { z } from "zod";
import { installationObject, installationSpec, ipPools, POOL_NAMES } from "../../../components/calico/installation";
import { artifacts } from "../../../components/calico/render";
import { calicoMinor, crdsInstalledBy, operatorReleaseArgs, operatorValues } from "../../../components/calico/values";
import { canonicalCidr, familyOfCidr } from "../../../components/net";
import type { Plan } from "../../../components/plan";
import { baseConfig, ConfigInput, planOf, tryPlan } from "../../support/configs";
import { ROOT } from "../../support/program";

// The committed schema derived from the operator's Installation CRD (never the CRD itself).
const SCHEMA_FILE = path.join(ROOT, "components", "calico", "installation.schema.json");
const installationSchema = z.fromJSONSchema(JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")));

function schemaProblems(obj: unknown): string[] {
    const r = installationSchema.safeParse(obj);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

const BASE_NET = baseConfig().network as Record<string, unknown>;
const V4_POD = "10.42.0.0/16";
const V6_POD = "fd45:a71:55a6:4200::/56";

type Dist = "k3s" | "k0s";
type Mode = "bird" | "vxlan";
type Primary = "IPv4" | "IPv6";

function config(dist: Dist, mode: Mode, primary: Primary, calico: ConfigInput = {}): ConfigInput {
    const v6first = primary === "IPv6";
    return baseConfig({
        ...(dist === "k0s" ? { distribution: "k0s", version: "v1.36.3+k0s.2" } : {}),
        network: {
            ...BASE_NET,
            podCidrs: v6first ? [V6_POD, V4_POD] : [V4_POD, V6_POD],
            serviceCidrs: v6first ? ["fd45:a71:55a6:43::/112", "10.43.0.0/16"] : ["10.43.0.0/16", "fd45:a71:55a6:43::/112"],
            // k0s hands the CNI to the operator only with the `custom` provider.
            ...(dist === "k0s" ? { provider: "custom" } : {}),
        },
        calico: { mode, ...calico },
    });
}

// What each mode must produce (issue: bird = BGP-routed IPv6, vxlan = no BGP at all).
const EXPECTED: Record<Mode, { v4: string; v6: string; bgp: string }> = {
    bird: { v4: "IPIPCrossSubnet", v6: "None", bgp: "Enabled" },
    vxlan: { v4: "VXLANCrossSubnet", v6: "VXLAN", bgp: "Disabled" },
};

describe("Calico Installation (pure)", () => {
    for (const dist of ["k3s", "k0s"] as const) {
        for (const mode of ["bird", "vxlan"] as const) {
            for (const primary of ["IPv4", "IPv6"] as const) {
                it(`${dist}, ${mode} mode, ${primary}-primary: pools, NAT, BGP, autodetection and forwarding`, () => {
                    const plan = planOf(config(dist, mode, primary));
                    assert.equal(plan.calico.managedBy, "operator");
                    const spec = installationSpec(plan);
                    const pools = spec.calicoNetwork.ipPools;
                    const order: Primary[] = primary === "IPv4" ? ["IPv4", "IPv6"] : ["IPv6", "IPv4"];
                    assert.deepEqual(pools.map((p) => familyOfCidr(p.cidr)), order, "pools follow the cluster's primary family");
                    assert.deepEqual(pools.map((p) => p.cidr), primary === "IPv4" ? [V4_POD, V6_POD] : [V6_POD, V4_POD]);
                    const byFamily = Object.fromEntries(pools.map((p) => [familyOfCidr(p.cidr), p]));
                    assert.deepEqual(byFamily.IPv4, { name: "default-ipv4-ippool", cidr: V4_POD, blockSize: 26, encapsulation: EXPECTED[mode].v4, natOutgoing: "Enabled", nodeSelector: "all()" });
                    assert.deepEqual(byFamily.IPv6, { name: "default-ipv6-ippool", cidr: V6_POD, blockSize: 122, encapsulation: EXPECTED[mode].v6, natOutgoing: "Enabled", nodeSelector: "all()" });
                    assert.equal(spec.calicoNetwork.bgp, EXPECTED[mode].bgp);
                    // Explicit for both families: a missing V6 method means IP6=none and FELIX_IPV6SUPPORT=false.
                    assert.deepEqual(spec.calicoNetwork.nodeAddressAutodetectionV6, { cidrs: ["fd45:a71:55a6:1::/64"] });
                    assert.deepEqual(spec.calicoNetwork.nodeAddressAutodetectionV4, { cidrs: ["192.168.121.135/32", "192.168.121.136/32", "192.168.121.137/32"] });
                    assert.equal(spec.calicoNetwork.containerIPForwarding, dist === "k3s" ? "Enabled" : "Disabled");
                    assert.deepEqual(spec.cni, { type: "Calico", ipam: { type: "Calico" } });
                    assert.equal(spec.kubeletVolumePluginPath, "None");
                    assert.deepEqual(schemaProblems(installationObject(plan)), []);
                });
            }
        }
    }

    it("ipv6NatOutgoing false turns NAT off for the IPv6 pool only", () => {
        for (const primary of ["IPv4", "IPv6"] as const) {
            const pools = ipPools(planOf(config("k3s", "bird", primary, { ipv6NatOutgoing: false })));
            const nat = Object.fromEntries(pools.map((p) => [familyOfCidr(p.cidr), p.natOutgoing]));
            assert.deepEqual(nat, { IPv4: "Enabled", IPv6: "Disabled" });
        }
    });

    it("takes explicit encapsulations and block sizes from config; an unencapsulated IPv4 pool keeps BGP on", () => {
        const cases: { calico: ConfigInput; v4: string; v6: string; bs: [number, number]; bgp: string }[] = [
            { calico: { encapsulation: { ipv4: "IPIP" }, blockSizes: { ipv4: 24, ipv6: 120 } }, v4: "IPIP", v6: "None", bs: [24, 120], bgp: "Enabled" },
            { calico: { encapsulation: { ipv4: "None", ipv6: "None" } }, v4: "None", v6: "None", bs: [26, 122], bgp: "Enabled" },
            { calico: { mode: "vxlan", encapsulation: { ipv4: "VXLAN", ipv6: "VXLANCrossSubnet" }, blockSizes: { ipv4: 28, ipv6: 126 } }, v4: "VXLAN", v6: "VXLANCrossSubnet", bs: [28, 126], bgp: "Disabled" },
        ];
        for (const c of cases) {
            const plan = planOf(config("k3s", "bird", "IPv4", c.calico));
            const [v4, v6] = ipPools(plan);
            assert.deepEqual([v4.encapsulation, v6.encapsulation, v4.blockSize, v6.blockSize], [c.v4, c.v6, ...c.bs]);
            assert.equal(installationSpec(plan).calicoNetwork.bgp, c.bgp);
            assert.deepEqual(schemaProblems(installationObject(plan)), []);
        }
    });

    it("uses the node prefixes for autodetection when they are configured", () => {
        const plan = planOf(baseConfig({ network: { ...BASE_NET, nodeIpv4Prefix: "192.168.121.0/24" } }));
        const cn = installationSpec(plan).calicoNetwork;
        assert.deepEqual(cn.nodeAddressAutodetectionV4, { cidrs: ["192.168.121.0/24"] });
        assert.deepEqual(cn.nodeAddressAutodetectionV6, { cidrs: ["fd45:a71:55a6:1::/64"] });
    });

    it("asks the operator for pods-ready and the singleton name it honours", () => {
        const obj = installationObject(planOf());
        assert.equal(obj.metadata.name, "default");
        assert.equal(obj.metadata.annotations["pulumi.com/waitFor"], "jsonpath={.status.calicoVersion}");
        assert.deepEqual(POOL_NAMES, { IPv4: "default-ipv4-ippool", IPv6: "default-ipv6-ippool" });
    });
});

// Pod CIDR pairs that fit the base config's nodes and /24, /64 node masks without overlapping its
// node or service networks; the primary family and IPv6 NAT flag vary too.
const podPair = fc.record({
    v4: fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 16, max: 22 })).map(([b, len]) => `172.${16 + b}.0.0/${len}`),
    v6: fc
        .tuple(fc.integer({ min: 0x46, max: 0xff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 48, max: 62 }))
        .map(([a, b, c, len]) => canonicalCidr(`fd${a.toString(16)}:${b.toString(16)}:${c.toString(16)}::/${len}`)),
    v6first: fc.boolean(),
    nat6: fc.boolean(),
    mode: fc.constantFrom<Mode>("bird", "vxlan"),
});

describe("Calico Installation (property)", () => {
    it("pools are exactly the cluster's pod CIDRs in primary order, valid against the operator schema", () => {
        fc.assert(
            fc.property(podPair, ({ v4, v6, v6first, nat6, mode }) => {
                const cfg = baseConfig({
                    network: { ...BASE_NET, podCidrs: v6first ? [v6, v4] : [v4, v6], serviceCidrs: v6first ? ["fd45:a71:55a6:43::/112", "10.43.0.0/16"] : ["10.43.0.0/16", "fd45:a71:55a6:43::/112"] },
                    calico: { mode, ipv6NatOutgoing: nat6 },
                });
                const { plan, problems } = tryPlan(cfg);
                assert.ok(plan, problems.errors.map((e) => `${e.key}: ${e.rule}`).join("\n"));
                const pools = ipPools(plan);
                assert.deepEqual(pools.map((p) => p.cidr), plan.podCidrs.ordered);
                assert.deepEqual(pools.map((p) => p.cidr), v6first ? [v6, v4] : [v4, v6]);
                assert.equal(pools.find((p) => familyOfCidr(p.cidr) === "IPv6")!.natOutgoing, nat6 ? "Enabled" : "Disabled");
                const obj = installationObject(plan);
                assert.deepEqual(schemaProblems(obj), []);
                assert.deepEqual(parse(artifacts(plan)[0].content), obj, "the rendered file is the applied object");
            }),
            { numRuns: 150 },
        );
    });
});

describe("derived Installation schema (components/calico/installation.schema.json)", () => {
    const plan = planOf();
    const good = () => JSON.parse(JSON.stringify(installationObject(plan)));
    const v6Index = (o: { spec: { calicoNetwork: { ipPools: { cidr: string }[] } } }) => o.spec.calicoNetwork.ipPools.findIndex((p) => p.cidr.includes(":"));
    // Each mutation is something the operator's API refuses or silently prunes; the schema must too.
    const mutations: [string, (o: any) => void][] = [
        ["IPIP on the IPv6 pool", (o) => (o.spec.calicoNetwork.ipPools[v6Index(o)].encapsulation = "IPIP")],
        ["IPv6 block size 115", (o) => (o.spec.calicoNetwork.ipPools[v6Index(o)].blockSize = 115)],
        ["IPv4 block size 33", (o) => (o.spec.calicoNetwork.ipPools[1 - v6Index(o)].blockSize = 33)],
        ["natOutgoing not an enum value", (o) => (o.spec.calicoNetwork.ipPools[0].natOutgoing = "true")],
        ["misspelt pool field (pruned by the API server)", (o) => (o.spec.calicoNetwork.ipPools[0].natOutGoing = "Enabled")],
        ["two V6 autodetection methods", (o) => (o.spec.calicoNetwork.nodeAddressAutodetectionV6.firstFound = true)],
        ["bgp not an enum value", (o) => (o.spec.calicoNetwork.bgp = "On")],
        ["containerIPForwarding not an enum value", (o) => (o.spec.calicoNetwork.containerIPForwarding = true)],
        ["Installation not named default", (o) => (o.metadata.name = "calico")],
        ["pool without a CIDR", (o) => delete o.spec.calicoNetwork.ipPools[0].cidr],
    ];
    it("accepts the rendered object", () => assert.deepEqual(schemaProblems(good()), []));
    for (const [name, mutate] of mutations) {
        it(`refuses: ${name}`, () => {
            const o = good();
            mutate(o);
            assert.notDeepEqual(schemaProblems(o), [], `${name} validated`);
        });
    }
    it("records where it came from", () => {
        const header = JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")).$comment as string;
        assert.match(header, /operator\.tigera\.io_installations\.yaml/);
        assert.match(header, /sha256 [0-9a-f]{64}/);
        assert.match(header, /v1\.42\.3/);
    });
});

describe("tigera-operator release (pure)", () => {
    it("installs the pinned chart into tigera-operator with every chart-templated custom resource off", () => {
        const plan = planOf(baseConfig({ calico: { version: "v3.32.1" } }));
        const args = operatorReleaseArgs(plan);
        assert.equal(args.chart, "tigera-operator");
        assert.equal(args.version, "v3.32.1");
        assert.equal(args.repositoryOpts?.repo, "https://docs.tigera.io/calico/charts");
        assert.equal(args.namespace, "tigera-operator");
        assert.equal(args.createNamespace, true);
        assert.equal(args.name, "calico");
        assert.deepEqual(args.values, operatorValues(plan));
        assert.deepEqual(args.values, {
            apiServer: { enabled: false },
            defaultFelixConfiguration: { enabled: false },
            goldmane: { enabled: false },
            installation: { enabled: false },
            manageCRDs: true,
            whisker: { enabled: false },
        });
    });

    it("knows which versions ship CRDs in the operator chart", () => {
        const table: [string, number, RegExp][] = [
            ["v3.31.7", 31, /crds\//],
            ["v3.32.0", 32, /no CRDs since v3.32/],
            ["v3.32.1", 32, /no CRDs since v3.32/],
            ["v3.33.0", 33, /no CRDs since v3.32/],
        ];
        for (const [version, minor, by] of table) {
            const plan = planOf(baseConfig({ calico: { version } }));
            assert.equal(calicoMinor(plan), minor);
            assert.match(crdsInstalledBy(plan), by);
        }
    });

    it("renders exactly the Installation and the operator values, deterministically", () => {
        const plans: Plan[] = [planOf(), planOf(config("k0s", "vxlan", "IPv6"))];
        for (const plan of plans) {
            const a = artifacts(plan);
            assert.deepEqual(a.map((x) => x.path), ["cluster/calico/installation.yaml", "cluster/calico/operator-values.yaml"]);
            assert.deepEqual(parse(a[0].content), installationObject(plan));
            assert.deepEqual(parse(a[1].content), operatorValues(plan));
            assert.deepEqual(artifacts(plan), a);
        }
    });
});
