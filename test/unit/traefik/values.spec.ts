import * as assert from "node:assert/strict";
import fc from "fast-check";
import { parse } from "yaml";
import { traefikSchema } from "../../../components/config";
import { cidrContainsAddress, familyOfAddress, familyOfCidr, hostOffset } from "../../../components/net";
import type { Plan } from "../../../components/plan";
import { renderArtifacts } from "../../../components/render";
import { CHART_VERSION, LAYOUT } from "../../../components/traefik/chart-layout-41.3.0";
import {
    layoutProblems,
    scrapeAnnotationsUnderChart,
    SERVICE_KEYS_REMOVED_IN_40,
    serviceUnderChart,
} from "../../../components/traefik/chart-model";
import { deriveLayout, layoutModule } from "../../../components/traefik/derive-chart-layout";
import { ipAddressPool, l2Advertisement, METALLB, metallbValues, poolAddresses, poolEntry } from "../../../components/traefik/metallb";
import { artifacts } from "../../../components/traefik/render";
import {
    CLUSTER_IP_OFFSET,
    expectedService,
    METALLB_IPS_ANNOTATION,
    SERVICELB_NODE_LABEL,
    traefikValues,
    traefikValuesYaml,
} from "../../../components/traefik/values";
import { baseConfig, ConfigInput, planOf, tryPlan } from "../../support/configs";

// Plans of both family orders, built from config objects through buildPlan.
const V4_FIRST = {};
const V6_FIRST = {
    network: {
        nodeIpv6Prefix: "fd45:a71:55a6:1::/64",
        podCidrs: ["fd45:a71:55a6:4200::/56", "10.42.0.0/16"],
        serviceCidrs: ["fd45:a71:55a6:43::/112", "10.43.0.0/16"],
    },
};
const K0S = { distribution: "k0s", version: "v1.36.3+k0s.2" };
const POOL = ["192.168.121.200-192.168.121.220", "fd45:a71:55a6:1::200/124"];

interface LbCase {
    name: string;
    cfg: ConfigInput;
    type: "LoadBalancer" | "ClusterIP";
    externalIPs?: { v4: string; v6: string };
    annotation?: { v4: string; v6: string };
}

const LB_CASES: LbCase[] = [
    { name: "servicelb (k3s)", cfg: { traefik: { loadBalancer: "servicelb" } }, type: "LoadBalancer" },
    { name: "metallb on k3s, addresses picked from the pool", cfg: { traefik: { loadBalancer: "metallb" }, metallb: { addresses: POOL } }, type: "LoadBalancer" },
    {
        name: "metallb on k0s with fixed addresses",
        cfg: { ...K0S, traefik: { loadBalancer: "metallb" }, metallb: { addresses: POOL, loadBalancerIPs: ["FD45:A71:55A6:1:0:0:0:201", "192.168.121.201"] } },
        type: "LoadBalancer",
        annotation: { v4: "192.168.121.201", v6: "fd45:a71:55a6:1::201" },
    },
    {
        name: "externalIPs (given IPv6 first, non-canonical)",
        cfg: { traefik: { loadBalancer: "externalIPs", externalIPs: ["fd45:0a71:55a6:0001:0000:0000:0000:0200", "192.168.121.200"] } },
        type: "ClusterIP",
        externalIPs: { v4: "192.168.121.200", v6: "fd45:a71:55a6:1::200" },
    },
    { name: "none on k0s", cfg: { ...K0S, traefik: { loadBalancer: "none" } }, type: "ClusterIP" },
];

const ORDERS: [string, ConfigInput, Plan["families"]][] = [
    ["IPv4-primary", V4_FIRST, ["IPv4", "IPv6"]],
    ["IPv6-primary", V6_FIRST, ["IPv6", "IPv4"]],
];

/** Every key path in `v` (dotted), to find where a key name occurs. */
function keyPaths(v: unknown, prefix = ""): string[] {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return [];
    return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => [prefix + k, ...keyPaths(x, `${prefix}${k}.`)]);
}

const byOrder = (families: Plan["families"], pair: { v4: string; v6: string }) => (families[0] === "IPv4" ? [pair.v4, pair.v6] : [pair.v6, pair.v4]);

describe("traefik values: every load balancer choice in both family orders", () => {
    for (const [orderName, order, families] of ORDERS) {
        for (const c of LB_CASES) {
            describe(`${c.name}, ${orderName}`, () => {
                const plan = planOf(baseConfig({ ...order, ...c.cfg }));
                const values = traefikValues(plan);
                const spec = values.service.spec;

                it("asks for a RequireDualStack Service with both families in the cluster's order", () => {
                    assert.deepEqual(plan.families, families);
                    assert.equal(spec.ipFamilyPolicy, "RequireDualStack");
                    assert.deepEqual(spec.ipFamilies, families);
                    assert.equal(spec.type, c.type);
                });

                it("fixes one cluster IP per family, in ipFamilies order, inside the service CIDRs' static band", () => {
                    assert.deepEqual(spec.clusterIPs.map(familyOfAddress), families);
                    // The API server refuses clusterIPs without clusterIP (values.ts).
                    assert.equal(spec.clusterIP, spec.clusterIPs[0]);
                    for (const ip of spec.clusterIPs) {
                        const cidr = familyOfAddress(ip) === "IPv4" ? plan.serviceCidrs.ipv4 : plan.serviceCidrs.ipv6;
                        assert.ok(cidrContainsAddress(cidr, ip), `${ip} outside ${cidr}`);
                        assert.equal(hostOffset(cidr, ip), CLUSTER_IP_OFFSET);
                        assert.ok(!plan.clusterDns.ordered.includes(ip) && !plan.kubernetesService.ordered.includes(ip));
                    }
                });

                it("sets externalIPs only for the externalIPs choice: canonical, primary family first", () => {
                    if (c.externalIPs) assert.deepEqual(spec.externalIPs, byOrder(families, c.externalIPs));
                    else assert.equal(spec.externalIPs, undefined);
                });

                it("annotates fixed MetalLB addresses (one per family, primary first) and nothing else", () => {
                    if (c.annotation) assert.deepEqual(values.service.annotations, { [METALLB_IPS_ANNOTATION]: byOrder(families, c.annotation).join(",") });
                    else assert.equal(values.service.annotations, undefined);
                });

                it("puts type, ipFamilyPolicy, ipFamilies, clusterIP(s) and externalIPs exactly under service.spec and nowhere else", () => {
                    const names = new Set<string>(["type", "ipFamilyPolicy", "ipFamilies", "externalIPs", "clusterIP", "clusterIPs"]);
                    const where = keyPaths(values).filter((p) => names.has(p.split(".").pop()!));
                    assert.deepEqual(where.sort(), Object.keys(spec).map((k) => `service.spec.${k}`).sort());
                    for (const old of SERVICE_KEYS_REMOVED_IN_40) assert.ok(!(old in values.service), `service.${old} is the pre-40 layout`);
                });

                it("is clean against the pinned chart's layout (no refused key, no silently ignored key)", () => {
                    assert.deepEqual(layoutProblems(values as unknown as Record<string, unknown>), []);
                });

                it("would make the chart render a dual-stack Service exposing web (80) and websecure (443) only", () => {
                    const svc = serviceUnderChart(values as unknown as Record<string, unknown>);
                    assert.deepEqual(svc.ignoredServiceKeys, []);
                    assert.equal(svc.spec.ipFamilyPolicy, "RequireDualStack");
                    assert.deepEqual(svc.spec.ipFamilies, families);
                    assert.equal(svc.spec.type, c.type);
                    // Helm ranges over the ports map in key order; the order means nothing to the Service.
                    assert.deepEqual(
                        (svc.spec.ports as { name: string; port: number }[]).map((p) => [p.name, p.port]),
                        [["web", 80], ["websecure", 443]],
                    );
                });

                it("gets Prometheus scrape annotations on the pod from the chart, for the metrics port", () => {
                    assert.deepEqual(scrapeAnnotationsUnderChart(values as unknown as Record<string, unknown>), {
                        "prometheus.io/path": "/metrics",
                        "prometheus.io/port": "9100",
                        "prometheus.io/scrape": "true",
                    });
                    assert.ok(!keyPaths(values).includes("deployment.podAnnotations"), "the chart writes them; giving them again duplicates keys");
                    assert.equal(values.ports.metrics.expose.default, false);
                });

                it("renders cluster/traefik/values.yaml as exactly these values", () => {
                    const a = artifacts(plan).find((x) => x.path === "cluster/traefik/values.yaml");
                    assert.ok(a);
                    assert.equal(a.content, traefikValuesYaml(plan));
                    assert.deepEqual(parse(a.content), JSON.parse(JSON.stringify(values)));
                    assert.match(a.content, new RegExp(`^# Helm values for chart traefik ${plan.traefik.chartVersion} `));
                });
            });
        }
    }

    it("exposes the dashboard entry point (8080) and its IngressRoute only when traefik.dashboard is set", () => {
        for (const dashboard of [false, true]) {
            const values = traefikValues(planOf(baseConfig({ traefik: { dashboard } })));
            assert.equal(values.api.dashboard, dashboard);
            assert.equal(values.ingressRoute.dashboard.enabled, dashboard);
            const ports = (serviceUnderChart(values as unknown as Record<string, unknown>).spec.ports as { name: string; port: number }[]).map((p) => p.port);
            assert.deepEqual(ports, dashboard ? [8080, 80, 443] : [80, 443], "Helm ranges over ports in key order: traefik, web, websecure");
            assert.deepEqual(layoutProblems(values as unknown as Record<string, unknown>), []);
        }
    });

    it("property: any valid externalIPs/MetalLB plan gives layout-clean values in the cluster's family order", () => {
        const hex = fc.integer({ min: 0, max: 0xffff });
        const v4 = fc.tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 1, max: 254 })).map(([a, b]) => `192.168.${a}.${b}`);
        // Written the long, upper-case way so canonicalisation has work to do.
        const v6 = fc.tuple(hex, hex).map(([a, b]) => `FD45:0A71:55A6:0001:0000:0000:${a.toString(16).toUpperCase().padStart(4, "0")}:${b.toString(16).toUpperCase().padStart(4, "0")}`);
        fc.assert(
            fc.property(fc.boolean(), fc.constantFrom("externalIPs", "metallb"), v4, v6, fc.boolean(), fc.boolean(), (v6First, lb, a4, a6, reversed, dashboard) => {
                const pair = reversed ? [a6, a4] : [a4, a6];
                const cfg = baseConfig({
                    ...(v6First ? V6_FIRST : V4_FIRST),
                    traefik: { loadBalancer: lb, dashboard, ...(lb === "externalIPs" ? { externalIPs: pair } : {}) },
                    // A pool that holds every generated fixed address (MetalLB only assigns pool addresses).
                    ...(lb === "metallb" ? { metallb: { addresses: ["192.168.0.0/16", "fd45:a71:55a6:1::/64"], loadBalancerIPs: pair } } : {}),
                });
                const plan = planOf(cfg);
                const values = traefikValues(plan);
                assert.deepEqual(layoutProblems(values as unknown as Record<string, unknown>), []);
                const given = lb === "externalIPs" ? values.service.spec.externalIPs! : values.service.annotations![METALLB_IPS_ANNOTATION].split(",");
                assert.deepEqual(given.map(familyOfAddress), plan.families);
                for (const ip of given) assert.ok(!/[A-F]/.test(ip) && !ip.includes(":0000"), `${ip} is not canonical`);
                assert.equal(traefikValuesYaml(plan), traefikValuesYaml(planOf(cfg)), "same config, same bytes");
            }),
            { numRuns: 60 },
        );
    });
});

describe("traefik values against the chart 41.3.0 layout (derived from its values.schema.json)", () => {
    it("the derived layout is for the chart version the config pins by default and the lab stacks use", () => {
        assert.equal(traefikSchema.parse({}).chartVersion, CHART_VERSION);
    });

    it("records the trap: `service` is open and only declares spec among the Service settings", () => {
        assert.equal(LAYOUT[""].closed, true, "top level refuses unknown keys");
        assert.equal(LAYOUT.service.closed, false, "service accepts unknown keys silently");
        assert.ok("spec" in LAYOUT.service.properties);
        for (const old of SERVICE_KEYS_REMOVED_IN_40) assert.ok(!(old in LAYOUT.service.properties), `service.${old} is not declared in 41.3.0`);
    });

    it("negative control: the pre-40 layout validates but leaves the Service single-stack", () => {
        const old = { service: { type: "LoadBalancer", ipFamilyPolicy: "RequireDualStack", ipFamilies: ["IPv4", "IPv6"], externalIPs: ["192.0.2.10", "2001:db8::10"] } };
        const problems = layoutProblems(old);
        assert.deepEqual(problems.map((p) => p.path).sort(), ["service.externalIPs", "service.ipFamilies", "service.ipFamilyPolicy", "service.type"]);
        assert.ok(problems.every((p) => /validates but the chart ignores it/.test(p.problem)));
        const svc = serviceUnderChart(old);
        assert.deepEqual(svc.ignoredServiceKeys, ["externalIPs", "ipFamilies", "ipFamilyPolicy", "type"]);
        assert.equal(svc.spec.ipFamilyPolicy, undefined, "no policy: the API server makes it SingleStack");
    });

    it("negative control: refused keys, wrong types and chart-written spec fields are reported", () => {
        const problems = layoutProblems({
            servic: {},
            api: { dashbord: true },
            ports: { web: { expose: { default: "yes" } } },
            service: { spec: { selector: {}, ipFamilyPolicies: "RequireDualStack" } },
            hub: { token: "x" },
        });
        const byPath = Object.fromEntries(problems.map((p) => [p.path, p.problem]));
        assert.match(byPath.servic, /Helm fails/);
        assert.match(byPath["api.dashbord"], /Helm fails/);
        assert.match(byPath["ports.web.expose.default"], /is string but the schema wants boolean/);
        assert.match(byPath["service.spec.selector"], /written by the chart/);
        assert.match(byPath["service.spec.ipFamilyPolicies"], /not a field of a Kubernetes ServiceSpec/);
        assert.match(byPath.hub, /left out of the derived layout/);
    });

    it("deriveLayout: closed and open objects, map entries, pruned subtrees; refuses what it cannot read", () => {
        const schema = {
            type: "object",
            additionalProperties: false,
            properties: {
                service: { type: "object", properties: { spec: { type: "object", properties: { type: { type: "string" } } }, single: { type: "boolean" } } },
                ports: { type: "object", additionalProperties: { type: "object", additionalProperties: false, properties: { port: { type: ["integer", "null"] } } } },
                hub: { type: "object", properties: { token: { type: "string" } } },
            },
        };
        const layout = deriveLayout(schema, ["hub"]);
        assert.deepEqual(layout, {
            "": { closed: true, properties: { hub: "object", ports: "object", service: "object" } },
            "ports.*": { closed: true, properties: { port: "integer|null" } },
            service: { closed: false, properties: { single: "boolean", spec: "object" } },
            "service.spec": { closed: false, properties: { type: "string" } },
        });
        assert.throws(() => deriveLayout({ properties: { a: { $ref: "#/x" } } }), /\$ref at a/);
        const text = layoutModule(layout, "1.2.3", "test");
        assert.match(text, /^\/\/ GENERATED by components\/traefik\/derive-chart-layout\.ts/);
        assert.match(text, /chart 1\.2\.3/);
    });
});

describe("MetalLB: pool, advertisement and values", () => {
    for (const [orderName, order, families] of ORDERS) {
        it(`${orderName}: one pool holding both families (primary first) and an L2Advertisement naming it`, () => {
            const plan = planOf(baseConfig({ ...order, traefik: { loadBalancer: "metallb" }, metallb: { addresses: [...POOL].reverse() } }));
            const pool = ipAddressPool(plan);
            assert.equal(pool.apiVersion, "metallb.io/v1beta1");
            assert.equal(pool.kind, "IPAddressPool");
            assert.deepEqual(pool.metadata, { name: METALLB.pool, namespace: "metallb-system" });
            const addresses = pool.spec.addresses as string[];
            assert.deepEqual(addresses.map((e) => familyOfCidr(e) ?? familyOfAddress(e.split("-")[0])), families);
            const adv = l2Advertisement(plan);
            assert.equal(adv.kind, "L2Advertisement");
            assert.equal(adv.metadata.namespace, pool.metadata.namespace);
            assert.deepEqual(adv.spec, { ipAddressPools: [pool.metadata.name] });
        });
    }

    it("writes pool entries the way MetalLB parses them (CIDR or a-b; a bare address becomes a host CIDR)", () => {
        const table: [string, string][] = [
            ["192.168.121.200-192.168.121.220", "192.168.121.200-192.168.121.220"],
            ["FD45:A71:55A6:1::200 - fd45:a71:55a6:1:0:0:0:2ff", "fd45:a71:55a6:1::200-fd45:a71:55a6:1::2ff"],
            ["fd45:0a71:55a6:0001::0200/124", "fd45:a71:55a6:1::200/124"],
            ["192.168.121.250", "192.168.121.250/32"],
            ["fd45:a71:55a6:1::250", "fd45:a71:55a6:1::250/128"],
        ];
        for (const [given, written] of table) assert.equal(poolEntry(given), written, given);
        const plan = planOf(baseConfig({ traefik: { loadBalancer: "metallb" }, metallb: { addresses: ["fd45:a71:55a6:1::250", "192.168.121.250"] } }));
        assert.deepEqual(poolAddresses(plan), ["192.168.121.250/32", "fd45:a71:55a6:1::250/128"]);
    });

    it("runs MetalLB in L2 mode without FRR", () => {
        assert.deepEqual(metallbValues(planOf(baseConfig({ traefik: { loadBalancer: "metallb" }, metallb: { addresses: POOL } }))), { speaker: { frr: { enabled: false } } });
    });

    it("renders values, pool and advertisement only for the metallb choice, equal to the manifests", () => {
        const metallbPlan = planOf(baseConfig({ ...K0S, traefik: { loadBalancer: "metallb" }, metallb: { addresses: POOL } }));
        const files = Object.fromEntries(artifacts(metallbPlan).map((a) => [a.path, a.content]));
        assert.deepEqual(Object.keys(files).sort(), ["cluster/metallb/ipaddresspool.yaml", "cluster/metallb/l2advertisement.yaml", "cluster/metallb/values.yaml", "cluster/traefik/values.yaml"]);
        assert.deepEqual(parse(files["cluster/metallb/ipaddresspool.yaml"]), ipAddressPool(metallbPlan));
        assert.deepEqual(parse(files["cluster/metallb/l2advertisement.yaml"]), l2Advertisement(metallbPlan));
        assert.deepEqual(parse(files["cluster/metallb/values.yaml"]), metallbValues(metallbPlan));
        for (const lb of ["servicelb", "externalIPs", "none"]) {
            const cfg = lb === "externalIPs" ? { traefik: { loadBalancer: lb, externalIPs: ["192.168.121.200", "fd45:a71:55a6:1::200"] } } : { traefik: { loadBalancer: lb } };
            assert.deepEqual(artifacts(planOf(baseConfig(cfg))).map((a) => a.path), ["cluster/traefik/values.yaml"]);
        }
        // The aggregate render has no path clash with the other components.
        assert.ok(renderArtifacts(metallbPlan).some((a) => a.path === "cluster/metallb/ipaddresspool.yaml"));
    });
});

describe("expected Traefik Service (component outputs, input of the check)", () => {
    it("ServiceLB: the nodes' addresses per family in ipFamilies order; only labelled nodes when any is labelled", () => {
        for (const [, order, families] of ORDERS) {
            const plan = planOf(baseConfig(order));
            const e = expectedService(plan);
            assert.equal(e.loadBalancer.source, "servicelb-nodes");
            const expected = families.flatMap((f) => plan.nodes.map((n) => (f === "IPv4" ? n.ipv4 : n.ipv6)));
            assert.deepEqual(e.loadBalancer.addresses, expected);
        }
        const labelled = baseConfig({
            nodes: [
                { name: "cp1", host: "192.168.121.135", role: "control-plane", interface: "eth0" },
                { name: "worker1", host: "192.168.121.136", role: "worker", interface: "eth0", labels: { [SERVICELB_NODE_LABEL]: "true" } },
            ],
        });
        const plan = planOf(labelled);
        const w1 = plan.nodes.find((n) => n.name === "worker1")!;
        assert.deepEqual(expectedService(plan).loadBalancer.addresses, [w1.ipv4, w1.ipv6]);
    });

    it("MetalLB fixed, MetalLB from the pool, externalIPs and none", () => {
        const fixed = expectedService(planOf(baseConfig({ traefik: { loadBalancer: "metallb" }, metallb: { addresses: POOL, loadBalancerIPs: ["fd45:a71:55a6:1::201", "192.168.121.201"] } })));
        assert.deepEqual(fixed.loadBalancer, { source: "metallb-fixed", addresses: ["192.168.121.201", "fd45:a71:55a6:1::201"] });
        assert.deepEqual(expectedService(planOf(baseConfig({ traefik: { loadBalancer: "metallb" }, metallb: { addresses: POOL } }))).loadBalancer, { source: "metallb-pool", addresses: [] });
        const ext = expectedService(planOf(baseConfig({ traefik: { loadBalancer: "externalIPs", externalIPs: ["192.168.121.200", "fd45:a71:55a6:1::200"] } })));
        assert.deepEqual([ext.type, ext.externalIPs, ext.loadBalancer.source], ["ClusterIP", ["192.168.121.200", "fd45:a71:55a6:1::200"], "none"]);
        const none = expectedService(planOf(baseConfig({ traefik: { loadBalancer: "none" } })));
        assert.deepEqual([none.namespace, none.name, none.type, none.externalIPs, none.loadBalancer.addresses], ["traefik", "traefik", "ClusterIP", [], []]);
    });
});

describe("traefik/MetalLB refusals (validated in plan/rules/exposure.ts, checked here through buildPlan)", () => {
    const refused: [string, ConfigInput, string, RegExp][] = [
        ["ServiceLB on k0s", { ...K0S, traefik: { loadBalancer: "servicelb" } }, "dualstack:traefik.loadBalancer", /ServiceLB is part of k3s/],
        ["externalIPs of one family only", { traefik: { loadBalancer: "externalIPs", externalIPs: ["192.168.121.200"] } }, "dualstack:traefik.externalIPs", /both families/],
        ["externalIPs: two IPv4 addresses", { traefik: { loadBalancer: "externalIPs", externalIPs: ["192.168.121.200", "192.168.121.201"] } }, "dualstack:traefik.externalIPs", /both families/],
        ["externalIPs: more than one per family", { traefik: { loadBalancer: "externalIPs", externalIPs: ["192.168.121.200", "fd45:a71:55a6:1::200", "fd45:a71:55a6:1::201"] } }, "dualstack:traefik.externalIPs", /one address per family/],
        ["externalIPs: not an address", { traefik: { loadBalancer: "externalIPs", externalIPs: ["192.168.121.200", "fd45:a71:55a6:1::200/64"] } }, "dualstack:traefik.externalIPs[1]", /not an IP address/],
        ["externalIPs without the externalIPs choice", { traefik: { loadBalancer: "servicelb", externalIPs: ["192.168.121.200", "fd45:a71:55a6:1::200"] } }, "dualstack:traefik.externalIPs", /only used with loadBalancer externalIPs/],
        ["MetalLB pool missing IPv6", { traefik: { loadBalancer: "metallb" }, metallb: { addresses: ["192.168.121.200-192.168.121.220"] } }, "dualstack:metallb.addresses", /both families/],
        ["MetalLB pool missing IPv4 (on k0s)", { ...K0S, traefik: { loadBalancer: "metallb" }, metallb: { addresses: ["fd45:a71:55a6:1::200/124"] } }, "dualstack:metallb.addresses", /both families/],
        ["MetalLB without any pool", { traefik: { loadBalancer: "metallb" } }, "dualstack:metallb.addresses", /both families/],
        ["MetalLB fixed addresses of one family", { traefik: { loadBalancer: "metallb" }, metallb: { addresses: POOL, loadBalancerIPs: ["192.168.121.201"] } }, "dualstack:metallb.loadBalancerIPs", /both families/],
        ["MetalLB chart version not exact", { traefik: { loadBalancer: "metallb" }, metallb: { addresses: POOL, chartVersion: "latest" } }, "dualstack:metallb.chartVersion", /exact chart version/],
        ["MetalLB pool entry with host bits", { traefik: { loadBalancer: "metallb" }, metallb: { addresses: ["192.168.121.5/24", "fd45:a71:55a6:1::200/124"] } }, "dualstack:metallb.addresses[0]", /host bits/],
        ["MetalLB range that starts after it ends", { traefik: { loadBalancer: "metallb" }, metallb: { addresses: ["192.168.121.220-192.168.121.200", "fd45:a71:55a6:1::200/124"] } }, "dualstack:metallb.addresses[0]", /starts after it ends/],
        ["MetalLB pool inside the pod CIDR", { traefik: { loadBalancer: "metallb" }, metallb: { addresses: ["10.42.0.0/24", "fd45:a71:55a6:1::200/124"] } }, "dualstack:metallb.addresses[0]", /overlaps network.podCidrs/],
        ["MetalLB range spanning into the service CIDR", { traefik: { loadBalancer: "metallb" }, metallb: { addresses: ["10.42.255.250-10.43.0.20", "fd45:a71:55a6:1::200/124"] } }, "dualstack:metallb.addresses[0]", /overlaps network.serviceCidrs/],
        ["MetalLB fixed addresses: two of one family", { traefik: { loadBalancer: "metallb" }, metallb: { addresses: POOL, loadBalancerIPs: ["192.168.121.201", "192.168.121.202", "fd45:a71:55a6:1::201"] } }, "dualstack:metallb.loadBalancerIPs", /one address per family/],
        ["MetalLB fixed address outside the pool", { traefik: { loadBalancer: "metallb" }, metallb: { addresses: POOL, loadBalancerIPs: ["192.168.121.230", "fd45:a71:55a6:1::201"] } }, "dualstack:metallb.loadBalancerIPs[0]", /not in metallb.addresses/],
        ["MetalLB settings without the metallb choice", { traefik: { loadBalancer: "servicelb" }, metallb: { addresses: POOL } }, "dualstack:metallb", /only used with loadBalancer metallb/],
        ["externalIPs: link-local", { traefik: { loadBalancer: "externalIPs", externalIPs: ["192.168.121.200", "fe80::200"] } }, "dualstack:traefik.externalIPs[1]", /link-local/],
        ["externalIPs inside the service CIDR", { traefik: { loadBalancer: "externalIPs", externalIPs: ["10.43.0.50", "fd45:a71:55a6:1::200"] } }, "dualstack:traefik.externalIPs[0]", /inside network.serviceCidrs/],
        ["service CIDR too small for DNS and Traefik", { network: { nodeIpv6Prefix: "fd45:a71:55a6:1::/64", podCidrs: ["10.42.0.0/16", "fd45:a71:55a6:4200::/56"], serviceCidrs: ["10.43.0.0/29", "fd45:a71:55a6:43::/112"] } }, "dualstack:network.serviceCidrs", /fewer than 16 addresses/],
        ["Traefik chart 39 (old Service layout)", { traefik: { chartVersion: "39.0.8" } }, "dualstack:traefik.chartVersion", /below 40.0.0/],
        ["Traefik chart version not exact", { traefik: { chartVersion: "41" } }, "dualstack:traefik.chartVersion", /exact chart version/],
    ];
    for (const [name, cfg, key, rule] of refused) {
        it(name, () => {
            const { plan, problems } = tryPlan(baseConfig(cfg));
            assert.equal(plan, undefined);
            const hit = problems.errors.find((e) => e.key === key && rule.test(e.rule));
            assert.ok(hit, `no problem at ${key} matching ${rule}; got:\n${problems.errors.map((e) => `  ${e.key}: ${e.rule}`).join("\n")}`);
            assert.ok(hit.fix.length > 0);
        });
    }

    it("accepts chart 40.0.0, the first release with the service.spec layout", () => {
        assert.equal(planOf(baseConfig({ traefik: { chartVersion: "40.0.0" } })).traefik.chartVersion, "40.0.0");
    });

    it("defaults the load balancer per distribution: servicelb on k3s, none on k0s", () => {
        assert.equal(planOf(baseConfig({ traefik: {} })).traefik.loadBalancer, "servicelb");
        assert.equal(planOf(baseConfig({ ...K0S, traefik: {} })).traefik.loadBalancer, "none");
    });
});
