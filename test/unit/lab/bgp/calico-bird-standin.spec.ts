// The calico-node BIRD TEST STAND-IN of the BGP lab (test/lab/bgp/calico-bird-standin.ts), without
// the lab: it follows confd's rules for the objects dualstack renders.
import * as assert from "node:assert/strict";
import { baseConfig, planOf } from "../../../support/configs";
import { renderCalicoBirdStandin, standinInputFromPlan, standinProtocolName } from "../../../lab/bgp/calico-bird-standin";

function standin(peers: Record<string, unknown>[], secret: Record<string, string>, labels: Record<string, string> = {}) {
    const plan = planOf(baseConfig({ calico: { bgp: { asNumber: 64512, peers } } }));
    const node = { ...plan.nodes[0], labels };
    return renderCalicoBirdStandin(standinInputFromPlan(plan, node, secret));
}

function session(conf: string, peerIP: string): string {
    const from = conf.indexOf(`protocol bgp ${standinProtocolName(peerIP)} `);
    return from < 0 ? "" : conf.slice(from, conf.indexOf("\n}\n", from) + 3);
}

describe("calico-node BIRD TEST STAND-IN (BGP lab support)", () => {
    it("one session per peer, in the channel of the peer address's family; the node's block of each pool exported", () => {
        const conf = standin([{ peerIP: "192.0.2.1", asNumber: 64500 }, { peerIP: "fd45:a71:55a6:1::1", asNumber: 64500 }], {});
        // sourceAddress: UseNodeIP (written by dualstack) gives each session the node's address of its family.
        assert.match(session(conf, "192.0.2.1"), /neighbor 192\.0\.2\.1 as 64500;\n  source address \d+\.\d+\.\d+\.\d+;\n  ipv4 \{/);
        assert.match(session(conf, "fd45:a71:55a6:1::1"), /neighbor fd45:a71:55a6:1::1 as 64500;\n  source address [0-9a-f:]+;\n  ipv6 \{/);
        assert.match(conf, /local as 64512;/);
        assert.match(conf, /route 10\.42\.0\.0\/26 blackhole;/);
        assert.match(conf, /route fd45:a71:55a6:4200::\/122 blackhole;/);
        assert.ok(!conf.includes("password"), conf);
    });

    it("next hop keep only for keepOriginalNextHop with a different AS (confd: eBGP only)", () => {
        const conf = standin([{ peerIP: "192.0.2.1", asNumber: 64500, keepOriginalNextHop: true }, { peerIP: "192.0.2.2", asNumber: 64512, keepOriginalNextHop: true }], {});
        assert.match(session(conf, "192.0.2.1"), /next hop keep;/);
        assert.doesNotMatch(session(conf, "192.0.2.2"), /next hop keep/);
    });

    it("the password comes from the Secret key the BGPPeer references; a missing key or an unwritable password is refused", () => {
        const peers = [{ peerIP: "192.0.2.1", asNumber: 64500, password: "p" }];
        assert.match(session(standin(peers, { "dualstack-192-0-2-1": "pa ss$" }), "192.0.2.1"), /password "pa ss\$";/);
        assert.throws(() => standin(peers, {}), /Secret has no key dualstack-192-0-2-1/);
        assert.throws(() => standin(peers, { "dualstack-192-0-2-1": 'a"b' }), /double quote/);
    });

    it("a peer whose nodeSelector does not select the node gets no session there", () => {
        const peers = [{ peerIP: "192.0.2.1", asNumber: 64500, nodeSelector: "rack == 'a'" }];
        assert.notEqual(session(standin(peers, {}, { rack: "a" }), "192.0.2.1"), "");
        assert.equal(session(standin(peers, {}, { rack: "b" }), "192.0.2.1"), "");
    });
});
