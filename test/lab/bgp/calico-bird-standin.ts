// TEST STAND-IN for calico-node's BIRD: a pure function from the objects dualstack renders
// (BGPConfiguration `default`, the BGPPeers, the password Secret's data) to the BGP part of the
// BIRD configuration calico-node's confd would write for one node, in BIRD 2 syntax so Debian's
// bird2 can run it in the lab. It is not the product (the product renders Calico objects, never
// BIRD config) and it is not calico-node: it copies only what confd derives from those objects.
//
// What it follows, from projectcalico/calico confd/etc/calico/confd/templates:
// - bird.cfg.template / bird6.cfg.template, "Global peers": one `protocol bgp Global_<ip>` per
//   BGPPeer that selects this node, in the daemon of the peer address's family (bird for IPv4,
//   bird6 for IPv6), so the session's family follows peerIP; `local as` is the node's AS (the
//   global asNumber here); `neighbor <peerIP> as <asNumber>`; `source address <node IP>` only when
//   sourceAddress is UseNodeIP (confd copies Spec.SourceAddress as it is; client.go);
//   `password "<secret value>"` when set; `next hop keep` only when keepOriginalNextHop is set and
//   the peer's AS differs from the node's (eBGP); `multihop`, graceful restart and the timers of
//   bgp_template.
// - bird_aggr.cfg.template: the node's IPAM blocks as static blackhole routes; exported is the
//   block itself, nothing beneath it (calico_aggr).
// - bird_ipam.cfg.template: calico_export_to_bgp_peers accepts the pools (and, for
//   BGPConfiguration's advertised Service ranges, the static routes confd adds for them).
// Calico runs its own BIRD 1.6 fork (two daemons); BIRD 2 puts both families in one daemon with
// one channel per protocol, and moves `next hop keep`, `gateway recursive`, `add paths`, import
// and export into that channel.
import { BgpConfigurationObject, bgpConfiguration, BgpPeerObject, bgpPeers } from "../../../components/calico/bgp";
import { selectorMatches } from "../../../components/check/bgp";
import { addressAt, Family, familyOfAddress, familyOfCidr } from "../../../components/net";
import type { Plan, PlannedNode } from "../../../components/plan";

export interface StandinNode {
    name: string;
    ipv4: string;
    ipv6: string;
    labels: Record<string, string>;
}

export interface StandinInput {
    configuration: BgpConfigurationObject;
    peers: BgpPeerObject[];
    /** The password Secret's data (key -> password), which calico-node reads through secretKeyRef. */
    secret: Record<string, string>;
    node: StandinNode;
    /** The IP pools (calico_export_to_bgp_peers accepts them). */
    pools: { ipv4: string; ipv6: string };
    /** The block of each pool that IPAM gave this node. */
    blocks: { ipv4: string; ipv6: string };
}

/** dualstack writes sourceAddress: UseNodeIP; the stand-in follows whatever the object says. */
type PeerSpec = BgpPeerObject["spec"] & { sourceAddress?: string };

const FAMILIES: Family[] = ["IPv4", "IPv6"];
const channel = (f: Family) => (f === "IPv4" ? "ipv4" : "ipv6");
const suffix = (f: Family) => (f === "IPv4" ? "v4" : "v6");

/** confd's protocol name: `Global_` and the address with `.` or `:` as `_`. */
export function standinProtocolName(peerIP: string): string {
    return `Global_${peerIP.replace(/[.:]/g, "_")}`;
}

/** A BIRD string literal: BIRD's lexer has no escapes, so `"` and newlines cannot be written. */
function birdString(value: string, what: string): string {
    if (/["\n\r]/.test(value)) throw new Error(`${what}: BIRD cannot read a string with a double quote or a line break (confd writes it unescaped)`);
    return `"${value}"`;
}

function peerApplies(peer: BgpPeerObject, node: StandinNode): boolean {
    const sel = peer.spec.nodeSelector;
    if (sel === undefined) return true;
    const m = selectorMatches(sel, node.labels);
    if (m === undefined) throw new Error(`${peer.metadata.name}: the stand-in cannot evaluate nodeSelector ${sel}`);
    return m;
}

/** The BIRD 2 configuration a Calico node would run for these objects (TEST STAND-IN). */
export function renderCalicoBirdStandin(input: StandinInput): string {
    const { configuration, node } = input;
    const localAs = configuration.spec.asNumber;
    const nodeIp = (f: Family) => (f === "IPv4" ? node.ipv4 : node.ipv6);
    const advertised = [
        ...(configuration.spec.serviceClusterIPs ?? []),
        ...(configuration.spec.serviceExternalIPs ?? []),
        ...(configuration.spec.serviceLoadBalancerIPs ?? []),
    ].map((c) => c.cidr);

    const out: string[] = [
        `# TEST STAND-IN for calico-node's BIRD on node ${node.name} (test/lab/bgp/calico-bird-standin.ts).`,
        `router id ${node.ipv4};`,
        "protocol device { scan time 2; }",
    ];
    for (const f of FAMILIES) {
        const block = f === "IPv4" ? input.blocks.ipv4 : input.blocks.ipv6;
        const pool = f === "IPv4" ? input.pools.ipv4 : input.pools.ipv6;
        const services = advertised.filter((c) => familyOfCidr(c) === f);
        out.push(
            `protocol static calico_static_${suffix(f)} {`,
            `  ${channel(f)};`,
            `  route ${block} blackhole;  # IP block of this host`,
            ...services.map((c) => `  route ${c} blackhole;  # advertised Service range`),
            "}",
            `filter calico_export_to_bgp_peers_${suffix(f)} {`,
            `  if ( net = ${block} ) then accept;  # calico_aggr: the block, nothing beneath it`,
            `  if ( net ~ ${block} ) then reject;`,
            ...services.map((c) => `  if ( net ~ ${c} ) then accept;`),
            `  if ( net ~ ${pool} ) then accept;`,
            "  reject;",
            "}",
        );
    }
    out.push(
        "template bgp bgp_template {",
        '  description "Connection to BGP peer";',
        `  local as ${localAs};`,
        "  multihop;",
        "  graceful restart;",
        "  connect delay time 1;",
        "  connect retry time 3;",
        "  error wait time 5,60;",
        "}",
    );
    for (const peer of input.peers) {
        const spec: PeerSpec = peer.spec;
        const f = familyOfAddress(spec.peerIP);
        if (!f) throw new Error(`${peer.metadata.name}: peerIP ${spec.peerIP} is not an address`);
        if (!peerApplies(peer, node)) continue;
        if (spec.peerIP === nodeIp(f)) continue; // confd: "Skipping ourselves"
        const lines = [`protocol bgp ${standinProtocolName(spec.peerIP)} from bgp_template {`, `  neighbor ${spec.peerIP} as ${spec.asNumber};`];
        if (spec.sourceAddress === "UseNodeIP") lines.push(`  source address ${nodeIp(f)};`);
        const ref = spec.password?.secretKeyRef;
        if (ref) {
            const value = input.secret[ref.key];
            if (value === undefined) throw new Error(`${peer.metadata.name}: the Secret has no key ${ref.key}`);
            lines.push(`  password ${birdString(value, `${peer.metadata.name} password`)};`);
        }
        lines.push(
            `  ${channel(f)} {`,
            "    gateway recursive;",
            "    add paths on;",
            "    import all;",
            `    export filter calico_export_to_bgp_peers_${suffix(f)};`,
            ...(spec.keepOriginalNextHop && spec.asNumber !== localAs ? ["    next hop keep;"] : []),
            "  };",
            "}",
        );
        out.push(...lines);
    }
    return `${out.join("\n")}\n`;
}

/** The stand-in's input for one planned node: the rendered objects, and the first block of each pool. */
export function standinInputFromPlan(plan: Plan, node: PlannedNode, secret: Record<string, string>): StandinInput {
    const block = (pool: string, size: number) => `${addressAt(pool, 0n)}/${size}`;
    return {
        configuration: bgpConfiguration(plan),
        peers: bgpPeers(plan),
        secret,
        node: { name: node.name, ipv4: node.ipv4, ipv6: node.ipv6, labels: node.labels },
        pools: { ipv4: plan.podCidrs.ipv4, ipv6: plan.podCidrs.ipv6 },
        blocks: { ipv4: block(plan.podCidrs.ipv4, plan.calico.blockSizes.ipv4), ipv6: block(plan.podCidrs.ipv6, plan.calico.blockSizes.ipv6) },
    };
}
