import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import { entryCidrs, peerName, peerPasswords } from "../../../components/calico/bgp-rules";
import { parseStackConfig } from "../../../components/config";
import { addressAt, cidrRange, familyOfCidr, hostOffset, isAlignedCidr, prefixLength } from "../../../components/net";
import { ConfigError, formatProblem, Problems } from "../../../components/problems";
import { baseConfig, ConfigInput, planOf, rawConfig, tryPlan } from "../../support/configs";

const ROUTER_V4 = "192.0.2.1";
const ROUTER_V6 = "fd45:a71:55a6:1::1";

/** baseConfig with calico.bgp (and any other calico/traefik/metallb keys) set. */
function withBgp(bgp: Record<string, unknown>, extra: ConfigInput = {}, calico: Record<string, unknown> = {}): ConfigInput {
    return baseConfig({ calico: { ...calico, bgp }, ...extra });
}

const PEERS = [
    { peerIP: ROUTER_V4, asNumber: 64500 },
    { peerIP: ROUTER_V6, asNumber: 64500 },
];
const METALLB = { traefik: { loadBalancer: "metallb" }, metallb: { addresses: ["192.168.121.240-192.168.121.250", "fd45:a71:55a6:1::f000/124"] } };

describe("calico.bgp rules: refusals before any host is touched", () => {
    const cases: { name: string; cfg: ConfigInput; key: string; value: unknown; rule: RegExp; fix: RegExp }[] = [
        { name: "peerIP that is not an address", cfg: withBgp({ peers: [{ peerIP: "router.example", asNumber: 64500 }] }), key: "dualstack:calico.bgp.peers[0].peerIP", value: "router.example", rule: /is not an IP address/, fix: /192\.0\.2\.1/ },
        { name: "peerIP with a port", cfg: withBgp({ peers: [{ peerIP: "192.0.2.1:179", asNumber: 64500 }] }), key: "dualstack:calico.bgp.peers[0].peerIP", value: "192.0.2.1:179", rule: /no port/, fix: /router's address/ },
        { name: "link-local peerIP", cfg: withBgp({ peers: [{ peerIP: "fe80::1", asNumber: 64500 }] }), key: "dualstack:calico.bgp.peers[0].peerIP", value: "fe80::1", rule: /link-local/, fix: /global or ULA/ },
        { name: "cluster AS 0", cfg: withBgp({ asNumber: 0, peers: PEERS }), key: "dualstack:calico.bgp.asNumber", value: 0, rule: /1-4294967295/, fix: /private AS/ },
        { name: "peer AS above 4294967295", cfg: withBgp({ peers: [{ peerIP: ROUTER_V4, asNumber: 4294967296 }] }), key: "dualstack:calico.bgp.peers[0].asNumber", value: 4294967296, rule: /not a usable AS number/, fix: /64512/ },
        { name: "4-octet private peer AS (above int32, Calico's v1 CRD type)", cfg: withBgp({ peers: [{ peerIP: ROUTER_V4, asNumber: 4200000000 }] }), key: "dualstack:calico.bgp.peers[0].asNumber", value: 4200000000, rule: /above 2147483647.*int32/, fix: /64512-65534/ },
        { name: "cluster AS 2147483648", cfg: withBgp({ asNumber: 2147483648, peers: PEERS }), key: "dualstack:calico.bgp.asNumber", value: 2147483648, rule: /above 2147483647/, fix: /up to 2147483647/ },
        { name: "AS_TRANS 23456", cfg: withBgp({ peers: [{ peerIP: ROUTER_V4, asNumber: 23456 }] }), key: "dualstack:calico.bgp.peers[0].asNumber", value: 23456, rule: /AS_TRANS/, fix: /private AS/ },
        { name: "two peers with the same address (different spelling)", cfg: withBgp({ peers: [{ peerIP: ROUTER_V6, asNumber: 64500 }, { peerIP: "fd45:0a71:55a6:0001:0:0:0:1", asNumber: 64501 }] }), key: "dualstack:calico.bgp.peers[1].peerIP", value: "fd45:0a71:55a6:0001:0:0:0:1", rule: /repeats the address of calico\.bgp\.peers\[0\]/, fix: /once/ },
        { name: "a node's own address as peer", cfg: withBgp({ peers: [{ peerIP: "192.168.121.136", asNumber: 64500 }] }), key: "dualstack:calico.bgp.peers[0].peerIP", value: "192.168.121.136", rule: /node's own address/, fix: /upstream router/ },
        { name: "serviceLoadBalancerIPs without a pool (k3s ServiceLB)", cfg: withBgp({ peers: PEERS, advertise: { serviceLoadBalancerIPs: true } }), key: "dualstack:calico.bgp.advertise.serviceLoadBalancerIPs", value: true, rule: /no load-balancer pool.*servicelb/, fix: /traefik\.loadBalancer: metallb/ },
        { name: "serviceExternalIPs without external IPs", cfg: withBgp({ peers: PEERS, advertise: { serviceExternalIPs: true } }), key: "dualstack:calico.bgp.advertise.serviceExternalIPs", value: true, rule: /no external IPs/, fix: /traefik\.externalIPs/ },
        { name: "bgp with mode vxlan", cfg: withBgp({ peers: PEERS }, {}, { mode: "vxlan" }), key: "dualstack:calico.mode", value: "vxlan", rule: /mode bird only/, fix: /mode: bird, or remove calico\.bgp/ },
        { name: "mesh off without peers", cfg: withBgp({ nodeToNodeMesh: false }), key: "dualstack:calico.bgp.nodeToNodeMesh", value: false, rule: /no node learns/, fix: /nodeToNodeMesh: true/ },
        { name: "password with a double quote", cfg: withBgp({ peers: [{ peerIP: ROUTER_V4, asNumber: 64500, password: 'a"b' }] }), key: "dualstack:calico.bgp.peers[0].password", value: "(secret)", rule: /double quote, a backslash or a control character/, fix: /printable/ },
        { name: "password with a backslash", cfg: withBgp({ peers: [{ peerIP: ROUTER_V4, asNumber: 64500, password: "a\\b" }] }), key: "dualstack:calico.bgp.peers[0].password", value: "(secret)", rule: /BIRD configuration cannot carry/, fix: /printable/ },
        { name: "password with a newline", cfg: withBgp({ peers: [{ peerIP: ROUTER_V4, asNumber: 64500, password: "a\nb" }] }), key: "dualstack:calico.bgp.peers[0].password", value: "(secret)", rule: /control character/, fix: /printable/ },
        { name: "password longer than 80 characters", cfg: withBgp({ peers: [{ peerIP: ROUTER_V4, asNumber: 64500, password: "x".repeat(81) }] }), key: "dualstack:calico.bgp.peers[0].password", value: "(secret)", rule: /longer than 80/, fix: /at most 80/ },
    ];
    for (const c of cases) {
        it(`refuses ${c.name}, naming key, value, rule and fix`, () => {
            const { plan, problems } = tryPlan(c.cfg);
            assert.equal(plan, undefined);
            const hit = problems.errors.find((e) => e.key === c.key);
            assert.ok(hit, `no problem for ${c.key}; got ${problems.errors.map((e) => e.key).join(", ")}`);
            assert.deepEqual(hit.value, c.value);
            assert.match(hit.rule, c.rule);
            assert.match(hit.fix, c.fix);
        });
    }

    it("reports every problem at once", () => {
        const { problems } = tryPlan(
            withBgp({ asNumber: 23456, peers: [{ peerIP: "nope", asNumber: 0 }, { peerIP: ROUTER_V4, asNumber: 64500 }, { peerIP: ROUTER_V4, asNumber: 64500 }], advertise: { serviceLoadBalancerIPs: true } }, {}, { mode: "vxlan" }),
        );
        const keys = problems.errors.map((e) => e.key);
        for (const k of ["dualstack:calico.mode", "dualstack:calico.bgp.asNumber", "dualstack:calico.bgp.peers[0].peerIP", "dualstack:calico.bgp.peers[0].asNumber", "dualstack:calico.bgp.peers[2].peerIP", "dualstack:calico.bgp.advertise.serviceLoadBalancerIPs"]) {
            assert.ok(keys.includes(k), `${k} missing from ${keys.join(", ")}`);
        }
    });

    it("never prints a password: not in a problem report, not in the plan", () => {
        const secret = "s3cret-bgp-password";
        // A shape error inside the peer list makes the report print the section's value.
        const problems = new Problems();
        parseStackConfig((k) => rawConfig(withBgp({ peers: [{ peerIP: ROUTER_V4, asNumber: "64500", password: secret }] }))[k], problems);
        assert.ok(problems.errors.length > 0);
        const text = new ConfigError(problems.errors).message + problems.errors.map(formatProblem).join("\n");
        assert.ok(!text.includes(secret), text);
        const plan = planOf(withBgp({ peers: [{ peerIP: ROUTER_V4, asNumber: 64500, password: secret }] }));
        assert.ok(!JSON.stringify(plan).includes(secret));
        assert.equal(plan.bgp!.peers[0].hasPassword, true);
        assert.deepEqual(peerPasswords({ asNumber: 64512, nodeToNodeMesh: true, peers: [{ peerIP: ROUTER_V4, asNumber: 64500, password: secret, keepOriginalNextHop: false }], advertise: { serviceClusterIPs: false, serviceExternalIPs: false, serviceLoadBalancerIPs: false } }), { "dualstack-192-0-2-1": secret });
    });
});

describe("calico.bgp rules: the plan part", () => {
    it("plans canonical peers sorted by name, both service CIDRs and the MetalLB pool as CIDRs", () => {
        const plan = planOf(withBgp({ asNumber: 64512, peers: [{ peerIP: "FD45:A71:55A6:1:0::1", asNumber: 2147483647, nodeSelector: "rack == 'a'", keepOriginalNextHop: true }, { peerIP: ROUTER_V4, asNumber: 64500 }], advertise: { serviceClusterIPs: true, serviceLoadBalancerIPs: true } }, METALLB));
        assert.deepEqual(plan.bgp!.peers.map((p) => [p.name, p.peerIP, p.family, p.asNumber]), [
            ["dualstack-192-0-2-1", ROUTER_V4, "IPv4", 64500],
            ["dualstack-fd45-a71-55a6-1-0-0-0-1", ROUTER_V6, "IPv6", 2147483647],
        ]);
        assert.equal(plan.bgp!.peers[1].nodeSelector, "rack == 'a'");
        assert.deepEqual(plan.bgp!.advertise, {
            serviceClusterIPs: ["10.43.0.0/16", "fd45:a71:55a6:43::/112"],
            serviceExternalIPs: [],
            serviceLoadBalancerIPs: ["192.168.121.240/29", "192.168.121.248/31", "192.168.121.250/32", "fd45:a71:55a6:1::f000/124"],
        });
        // The Installation toggle keeps its name and meaning.
        assert.equal(plan.calico.bgp, "Enabled");
    });

    it("advertises traefik.externalIPs as host routes", () => {
        const plan = planOf(withBgp({ peers: PEERS, advertise: { serviceExternalIPs: true } }, { traefik: { loadBalancer: "externalIPs", externalIPs: ["192.168.121.50", "fd45:a71:55a6:1::50"] } }));
        assert.deepEqual(plan.bgp!.advertise.serviceExternalIPs, ["192.168.121.50/32", "fd45:a71:55a6:1::50/128"]);
    });

    it("warns that keepOriginalNextHop does nothing on a peer in the cluster's own AS", () => {
        const { problems } = tryPlan(withBgp({ asNumber: 64512, peers: [{ peerIP: ROUTER_V4, asNumber: 64512, keepOriginalNextHop: true }, { peerIP: ROUTER_V6, asNumber: 64500, keepOriginalNextHop: true }] }));
        const w = problems.warnings.filter((x) => /next hop keep/.test(x.rule));
        assert.deepEqual(w.map((x) => x.key), ["dualstack:calico.bgp.peers[0].keepOriginalNextHop"]);
    });

    it("warns when all peers are of one family (the other family's routes are never announced)", () => {
        const { plan, problems } = tryPlan(withBgp({ peers: [{ peerIP: ROUTER_V4, asNumber: 64500 }] }));
        assert.ok(plan);
        assert.ok(problems.warnings.some((w) => w.key === "dualstack:calico.bgp.peers" && /no IPv6 peer/.test(w.rule)));
    });

    it("a plan without calico.bgp has no bgp part and the same warnings as before", () => {
        const { plan, problems } = tryPlan(baseConfig());
        assert.equal(plan!.bgp, undefined);
        assert.deepEqual(problems.warnings, []);
    });

    it("reordering the peers changes nothing", () => {
        const a = planOf(withBgp({ peers: PEERS }));
        const b = planOf(withBgp({ peers: [...PEERS].reverse() }));
        assert.deepEqual(a.bgp!.peers.map(({ index: _i, ...p }) => p), b.bgp!.peers.map(({ index: _i, ...p }) => p));
    });
});

describe("IPv6 NAT outgoing notes", () => {
    const cases: { name: string; pool: string; nat: boolean; warn?: RegExp }[] = [
        { name: "ULA pool, NAT on (the lab default)", pool: "fd45:a71:55a6:4200::/56", nat: true },
        { name: "ULA pool, NAT off", pool: "fd45:a71:55a6:4200::/56", nat: false, warn: /ULA \(fc00::\/7\): without NAT its pods cannot reach the internet over IPv6/ },
        { name: "global pool, NAT on", pool: "2a01:4f8:c0c:4200::/56", nat: true, warn: /^note: .*global prefix.*likely not wanted/ },
        { name: "global pool, NAT off (routed)", pool: "2a01:4f8:c0c:4200::/56", nat: false },
    ];
    for (const c of cases) {
        it(`${c.name}: ${c.warn ? "warns" : "says nothing"}`, () => {
            const cfg = baseConfig({ calico: { ipv6NatOutgoing: c.nat } });
            (cfg.network as { podCidrs: string[] }).podCidrs = ["10.42.0.0/16", c.pool];
            const { plan, problems } = tryPlan(cfg);
            assert.ok(plan, problems.errors.map((e) => e.rule).join("; "));
            const nat = problems.warnings.filter((w) => w.key === "dualstack:calico.ipv6NatOutgoing");
            if (c.warn) {
                assert.equal(nat.length, 1);
                assert.match(nat[0].rule, c.warn);
                assert.equal(nat[0].value, c.nat);
            } else {
                assert.deepEqual(nat, []);
            }
        });
    }
});

describe("peer names and pool CIDRs", () => {
    const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
    it("peer names are valid object names for every address, also ones ending in ::", () => {
        fc.assert(
            fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
                const name = peerName(ip);
                assert.match(name, DNS1123);
                assert.ok(name.length <= 253);
            }),
        );
        assert.equal(peerName("2001:db8::"), "dualstack-2001-db8-0-0-0-0-0-0");
    });

    it("a-b ranges become aligned, disjoint CIDRs covering exactly the range (property)", () => {
        fc.assert(
            fc.property(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 5000 }), (start, len) => {
                const end = Math.min(start + len, 2 ** 32 - 1);
                const a = addressAt("0.0.0.0/0", BigInt(start));
                const b = addressAt("0.0.0.0/0", BigInt(end));
                const out = entryCidrs(`${a}-${b}`);
                let next = BigInt(start);
                for (const c of out) {
                    assert.equal(familyOfCidr(c), "IPv4");
                    assert.ok(isAlignedCidr(c), c);
                    const first = hostOffset("0.0.0.0/0", cidrRange(c).getFirst().toString());
                    assert.equal(first, next, `gap or overlap at ${c}`);
                    next = first + (1n << BigInt(32 - prefixLength(c)));
                }
                assert.equal(next, BigInt(end) + 1n);
                // Greedy from the start gives at most two blocks per prefix length.
                assert.ok(out.length <= 62);
            }),
        );
        assert.deepEqual(entryCidrs("fd00::1-fd00::2"), ["fd00::1/128", "fd00::2/128"]);
        assert.deepEqual(entryCidrs("fd00::/120"), ["fd00::/120"]);
        assert.deepEqual(entryCidrs("192.0.2.7"), ["192.0.2.7/32"]);
        assert.deepEqual(entryCidrs("not-a-range"), []);
    });
});
