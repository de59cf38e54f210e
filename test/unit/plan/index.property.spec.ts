import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import { deriveIpv6Addresses } from "../../../components/plan";
import { canonicalCidr, cidrContainsAddress, cidrRange, cidrsOverlap, hostOffset, isGoGlobalUnicastV6 } from "../../../components/net";
import { baseConfig, planOf, tryPlan } from "../../support/configs";

const nodeName = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const names = fc.uniqueArray(nodeName, { minLength: 1, maxLength: 24 });
const ulaPrefix = fc
    .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 64, max: 120 }))
    .map(([a, b, c, len]) => canonicalCidr(`fd${(a & 0xff).toString(16).padStart(2, "0")}:${b.toString(16)}:${c.toString(16)}::/${len}`));

describe("IPv6 address derivation (property)", () => {
    it("gives every node a unique, global-unicast host address inside the prefix, never the anycast address", () => {
        fc.assert(
            fc.property(ulaPrefix, names, (prefix, ns) => {
                const got = deriveIpv6Addresses(prefix, ns, []);
                assert.equal(got.size, ns.length);
                assert.equal(new Set(got.values()).size, ns.length);
                for (const a of got.values()) {
                    assert.ok(cidrContainsAddress(prefix, a), `${a} not in ${prefix}`);
                    assert.ok(hostOffset(prefix, a) > 0n, `${a} is the subnet-router anycast address`);
                    assert.ok(isGoGlobalUnicastV6(a));
                }
            }),
            { numRuns: 200 },
        );
    });

    it("is deterministic and does not depend on node order", () => {
        fc.assert(
            fc.property(ulaPrefix, names, fc.nat(), (prefix, ns, seed) => {
                const shuffled = [...ns].sort((a, b) => ((a.charCodeAt(0) * 31 + seed) % 7) - ((b.charCodeAt(0) * 31 + seed) % 7));
                assert.deepEqual([...deriveIpv6Addresses(prefix, ns, []).entries()].sort(), [...deriveIpv6Addresses(prefix, shuffled, []).entries()].sort());
            }),
            { numRuns: 200 },
        );
    });

    it("never hands out an address already taken, even in a tiny prefix", () => {
        fc.assert(
            fc.property(fc.uniqueArray(nodeName, { minLength: 1, maxLength: 10 }), (ns) => {
                const prefix = "fd45:a71:55a6:1::/124"; // 15 usable offsets
                const taken = ["fd45:a71:55a6:1::1", "fd45:a71:55a6:1::2", "fd45:a71:55a6:1::3"];
                const got = [...deriveIpv6Addresses(prefix, ns, taken).values()];
                for (const t of taken) assert.ok(!got.includes(t));
                assert.equal(new Set(got).size, ns.length);
            }),
        );
    });

    it("keeps existing nodes' addresses when a node is added (stable across renumbering)", () => {
        fc.assert(
            fc.property(ulaPrefix.filter((p) => Number(p.split("/")[1]) <= 96), names, nodeName, (prefix, ns, extra) => {
                fc.pre(!ns.includes(extra));
                const before = deriveIpv6Addresses(prefix, ns, []);
                const after = deriveIpv6Addresses(prefix, [...ns, extra], []);
                // With 32 bits of hash, a collision that moves an existing node is negligible; assert exactly.
                for (const n of ns) assert.equal(after.get(n), before.get(n));
            }),
            { numRuns: 200 },
        );
    });

    it("the plan's derived addresses equal the derivation and repeat identically", () => {
        const a = planOf(baseConfig());
        const b = planOf(baseConfig());
        assert.deepEqual(a.nodes.map((n) => n.ipv6Cidr), b.nodes.map((n) => n.ipv6Cidr));
        const d = deriveIpv6Addresses("fd45:a71:55a6:1::/64", a.nodes.map((n) => n.name), []);
        for (const n of a.nodes) assert.equal(n.ipv6, d.get(n.name));
    });
});

const v4Cidr = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 8, max: 30 })).map(([v, len]) => {
    const masked = Number((BigInt(v) >> BigInt(32 - len)) << BigInt(32 - len));
    return `${[24, 16, 8, 0].map((s) => (masked >>> s) & 255).join(".")}/${len}`;
});
const v6Cidr = fc.tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 16, max: 124 })).map(([v, len]) => {
    const masked = (v >> BigInt(128 - len)) << BigInt(128 - len);
    const hex = masked.toString(16).padStart(32, "0");
    return canonicalCidr(`${hex.match(/.{4}/g)!.join(":")}/${len}`);
});

function intervalsIntersect(a: string, b: string): boolean {
    const ra = cidrRange(a);
    const rb = cidrRange(b);
    return ra.getFirst().getValue() <= rb.getLast().getValue() && rb.getFirst().getValue() <= ra.getLast().getValue();
}

describe("CIDR overlap (property)", () => {
    for (const [fam, gen] of [["IPv4", v4Cidr], ["IPv6", v6Cidr]] as const) {
        it(`${fam}: overlap is symmetric and equals interval intersection`, () => {
            fc.assert(
                fc.property(gen, gen, (a, b) => {
                    assert.equal(cidrsOverlap(a, b), cidrsOverlap(b, a));
                    assert.equal(cidrsOverlap(a, b), intervalsIntersect(a, b));
                }),
                { numRuns: 500 },
            );
        });
    }

    it("the plan refuses exactly the service CIDRs that overlap the pod CIDR", () => {
        fc.assert(
            fc.property(fc.integer({ min: 12, max: 24 }), fc.integer({ min: 0, max: 255 }), (len, second) => {
                const svc = `10.${second}.0.0/${Math.max(len, 16)}`;
                const { problems } = tryPlan(baseConfig({ network: { ...(baseConfig().network as object), serviceCidrs: [svc, "fd45:a71:55a6:43::/112"] } }));
                const overlap = problems.errors.some((e) => /overlaps dualstack:network.serviceCidrs \(IPv4\)/.test(e.rule));
                assert.equal(overlap, cidrsOverlap("10.42.0.0/16", canonicalCidr(svc)));
            }),
            { numRuns: 100 },
        );
    });
});
