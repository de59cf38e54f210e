import * as assert from "node:assert/strict";
import { ipPools } from "../../../../components/calico/installation";
import { baseConfig, ConfigInput, tryPlan } from "../../../support/configs";

// The Calico rules live in plan/rules/calico.ts; these prove each refusal through
// buildPlan, including the boundaries the operator itself enforces
// (tigera/operator pkg/controller/ippool/validation.go; domain facts B.2, B.3).

const NET = baseConfig().network as Record<string, unknown>;

function keysOf(cfg: ConfigInput): string[] {
    return tryPlan(cfg).problems.errors.map((e) => e.key);
}

interface Case {
    name: string;
    calico?: ConfigInput;
    network?: ConfigInput;
    /** The config key the refusal names; undefined = must be accepted. */
    key?: string;
    rule?: RegExp;
}

const cases: Case[] = [
    // IPIP is IPv4-only ("IPIP encapsulation is not supported by IPv6 pools").
    { name: "IPIP on the IPv6 pool", calico: { encapsulation: { ipv6: "IPIP" } }, key: "dualstack:calico.encapsulation.ipv6", rule: /IPIP/ },
    { name: "IPIPCrossSubnet on the IPv6 pool", calico: { encapsulation: { ipv6: "IPIPCrossSubnet" } }, key: "dualstack:calico.encapsulation.ipv6", rule: /IPIP/ },
    // IPv6 VXLAN arrived in Calico v3.23.0.
    { name: "VXLAN on IPv6 with Calico v3.22.5", calico: { version: "v3.22.5", mode: "vxlan" }, key: "dualstack:calico.encapsulation.ipv6", rule: /v3\.23/ },
    { name: "VXLANCrossSubnet on IPv6 with Calico v3.21.0", calico: { version: "v3.21.0", mode: "vxlan", encapsulation: { ipv6: "VXLANCrossSubnet" } }, key: "dualstack:calico.encapsulation.ipv6", rule: /v3\.23/ },
    { name: "VXLAN on IPv6 with Calico v3.23.0", calico: { version: "v3.23.0", mode: "vxlan" } },
    // Block sizes: IPv4 20-32, IPv6 116-128, and never wider than the pool.
    { name: "IPv4 block size 19", calico: { blockSizes: { ipv4: 19, ipv6: 122 } }, key: "dualstack:calico.blockSizes.ipv4", rule: /20-32/ },
    { name: "IPv4 block size 33", calico: { blockSizes: { ipv4: 33, ipv6: 122 } }, key: "dualstack:calico.blockSizes.ipv4", rule: /20-32/ },
    { name: "IPv6 block size 115", calico: { blockSizes: { ipv4: 26, ipv6: 115 } }, key: "dualstack:calico.blockSizes.ipv6", rule: /116-128/ },
    { name: "IPv6 block size 129", calico: { blockSizes: { ipv4: 26, ipv6: 129 } }, key: "dualstack:calico.blockSizes.ipv6", rule: /116-128/ },
    { name: "block sizes at the lower bounds (20, 116)", calico: { blockSizes: { ipv4: 20, ipv6: 116 } } },
    { name: "block sizes at the upper bounds (32, 128)", calico: { blockSizes: { ipv4: 32, ipv6: 128 } } },
    {
        name: "IPv6 block wider than the IPv6 pool",
        network: { podCidrs: ["10.42.0.0/16", "fd45:a71:55a6:4200::/120"], nodeCidrMaskSizes: { ipv4: 24, ipv6: 124 } },
        calico: { blockSizes: { ipv4: 26, ipv6: 118 } },
        key: "dualstack:calico.blockSizes.ipv6",
        rule: /shorter than the IPv6 pool prefix/,
    },
    // A pool CIDR of its own is not expressible: the schema refuses any such key.
    { name: "a separate pool list", calico: { ipPools: [{ cidr: "10.99.0.0/16" }] }, key: "dualstack:calico" },
    { name: "a separate IPv6 pool CIDR", calico: { ipv6PoolCidr: "fd00:99::/56" }, key: "dualstack:calico" },
];

describe("Calico refusals (through buildPlan)", () => {
    for (const c of cases) {
        it(`${c.key ? "refuses" : "accepts"} ${c.name}`, () => {
            const { plan, problems } = tryPlan(baseConfig({ network: { ...NET, ...(c.network ?? {}) }, calico: c.calico ?? {} }));
            if (!c.key) {
                assert.deepEqual(problems.errors, []);
                assert.ok(plan);
                return;
            }
            assert.equal(plan, undefined);
            const hit = problems.errors.find((e) => e.key === c.key);
            assert.ok(hit, `expected a problem at ${c.key}, got ${problems.errors.map((e) => `${e.key}: ${e.rule}`).join("; ")}`);
            if (c.rule) assert.match(hit.rule, c.rule);
        });
    }

    it("a pool CIDR different from the pod CIDR cannot arise: the pools are the plan's pod CIDRs", () => {
        for (const podCidrs of [["10.42.0.0/16", "fd45:a71:55a6:4200::/56"], ["fd45:a71:55a6:4200::/56", "10.42.0.0/16"], ["10.200.0.0/17", "fd12:3456:789a::/48"]]) {
            const svc = podCidrs[0].includes(":") ? ["fd45:a71:55a6:43::/112", "10.43.0.0/16"] : ["10.43.0.0/16", "fd45:a71:55a6:43::/112"];
            const { plan } = tryPlan(baseConfig({ network: { ...NET, podCidrs, serviceCidrs: svc } }));
            assert.ok(plan);
            assert.deepEqual(ipPools(plan).map((p) => p.cidr), podCidrs);
        }
    });

    it("reports every Calico problem of one config at once", () => {
        const keys = keysOf(baseConfig({ calico: { version: "v3.22.0", mode: "vxlan", encapsulation: { ipv4: "IPIP" }, blockSizes: { ipv4: 40, ipv6: 100 } } }));
        for (const k of ["dualstack:calico.encapsulation.ipv6", "dualstack:calico.encapsulation", "dualstack:calico.blockSizes.ipv4", "dualstack:calico.blockSizes.ipv6"]) {
            assert.ok(keys.includes(k), `missing ${k} in ${keys.join(", ")}`);
        }
    });
});
