import * as assert from "node:assert/strict";
import { checkBgp, selectorMatches } from "../../../components/check/bgp";
import { judge } from "../../../components/check/judge";
import type { K8sNode } from "../../../components/check/judge";
import { bgpStatusDouble } from "../../fixtures/check/bgp-double";
import { healthyDocument } from "../../fixtures/check/double";
import { baseConfig, planOf } from "../../support/configs";

const V4 = "192.0.2.1";
const V6 = "fd45:a71:55a6:1::1";
const plan = planOf(baseConfig({ calico: { bgp: { peers: [{ peerIP: V4, asNumber: 64500, password: "pw" }, { peerIP: V6, asNumber: 64500 }] } } }));
const noNodes = new Map<string, K8sNode>();

describe("BGP check: judged from CalicoNodeStatus", () => {
    it("passes when every node has both sessions Established, with one evidence line per node and peer", () => {
        const e = checkBgp({ plan, evidence: bgpStatusDouble(plan), liveNodes: noNodes });
        assert.equal(e.status, "passed");
        assert.equal(e.evidence.length, plan.nodes.length * 2);
        assert.match(e.evidence.join("\n"), new RegExp(`worker1 \\[${plan.nodes[1].ipv6}\\] -> ${V6} \\(AS 64500\\): Established`));
    });

    it("fails naming node, family, peer, state and the router-side fix when one session is not Established", () => {
        const e = checkBgp({ plan, evidence: bgpStatusDouble(plan, (n, ip) => (n === "worker2" && ip === V4 ? "Active" : "Established")), liveNodes: noNodes });
        assert.equal(e.status, "failed");
        assert.equal(e.findings!.length, 1);
        const f = e.findings![0];
        assert.equal(f.message, `worker2's IPv4 BGP session with ${V4} (AS 64500) is Active`);
        assert.match(f.cause, new RegExp(`neighbor ${plan.nodes[2].ipv4.replace(/\./g, "\\.")} remote-as 64512 with the same password`));
        assert.match(f.fix, /birdcl -s \/var\/run\/calico\/bird\.ctl show protocols all/);
    });

    it("fails for an IPv6 session missing from calico-node's report", () => {
        const ev = bgpStatusDouble(plan);
        ev.json!.items![0].status!.bgp!.peersV6 = [];
        const e = checkBgp({ plan, evidence: ev, liveNodes: noNodes });
        assert.equal(e.status, "failed");
        assert.equal(e.findings![0].message, `cp1 has no IPv6 BGP session with ${V6} (AS 64500)`);
    });

    it("fails when calico-node never reported, and when the CRD is missing (Calico older than v3.22)", () => {
        const ev = bgpStatusDouble(plan);
        delete ev.json!.items![1].status;
        assert.match(checkBgp({ plan, evidence: ev, liveNodes: noNodes }).findings![0].message, /^calico-node on worker1 reported no BGP status$/);
        const missing = checkBgp({ plan, evidence: { error: 'error: the server doesn\'t have a resource type "caliconodestatuses"' }, liveNodes: noNodes });
        assert.equal(missing.status, "failed");
        assert.match(missing.findings![0].cause, /Calico older than v3\.22/);
    });

    it("skips without peers and when the API is down", () => {
        const noPeers = planOf(baseConfig({ calico: { bgp: { peers: [] } } }));
        assert.equal(checkBgp({ plan: noPeers, liveNodes: noNodes }).status, "skipped");
        assert.equal(checkBgp({ plan, liveNodes: noNodes, apiDown: "connection refused" }).status, "skipped");
    });

    it("nodeSelector: a peer not selecting a node is not required there", () => {
        const sel = planOf(baseConfig({ calico: { bgp: { peers: [{ peerIP: V4, asNumber: 64500, nodeSelector: "rack == 'a'" }, { peerIP: V6, asNumber: 64500 }] } } }));
        const ev = bgpStatusDouble(sel);
        for (const s of ev.json!.items!) if (s.spec!.node !== "cp1") s.status!.bgp!.peersV4 = [];
        const labels = (rack: string): K8sNode => ({ metadata: { labels: { rack } } });
        const live = new Map([["cp1", labels("a")], ["worker1", labels("b")], ["worker2", labels("b")]]);
        const e = checkBgp({ plan: sel, evidence: ev, liveNodes: live });
        assert.equal(e.status, "passed", e.cause);
        assert.match(e.evidence.join("\n"), /worker1: 192\.0\.2\.1 \(AS 64500\) not selected by rack == 'a'/);
    });

    it("the judge adds the bgp entry only for plans with calico.bgp", () => {
        assert.ok(judge(healthyDocument(plan), plan, "k3s kubectl").checks.some((c) => c.id === "bgp" && c.status === "passed"));
        const plain = planOf();
        assert.ok(!judge(healthyDocument(plain), plain, "k3s kubectl").checks.some((c) => c.id === "bgp"));
    });
});

describe("Calico selector subset", () => {
    const table: [string, Record<string, string>, boolean | undefined][] = [
        ["all()", {}, true],
        ["has(bgp)", { bgp: "" }, true],
        ["!has(bgp)", { bgp: "" }, false],
        ["rack == 'a'", { rack: "a" }, true],
        ['rack != "a"', { rack: "a" }, false],
        ["rack in {'a', 'b'} && has(bgp)", { rack: "b", bgp: "x" }, true],
        ["rack not in {'a'}", {}, true],
        ["rack == 'a' || rack == 'b'", { rack: "a" }, undefined],
    ];
    for (const [sel, labels, want] of table) {
        it(`${sel} on ${JSON.stringify(labels)} -> ${want}`, () => assert.equal(selectorMatches(sel, labels), want));
    }
});
