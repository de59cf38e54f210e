// calico.bgp against a real BGP speaker: Debian's bird2 as the upstream router in one lab host, and
// in a second lab host, standing in for a cluster node, a BIRD whose BGP protocols are rendered by
// the TEST STAND-IN (bgp/calico-bird-standin.ts) from the very BGPConfiguration, BGPPeer objects and
// password Secret data that dualstack renders for the plan. The router's configuration is written
// here by hand, as an operator would write it (README, BGP section). This proves a real BGP
// implementation accepts the peer parameters (addresses, AS numbers, TCP-MD5 password, next hop
// keep) for both families; it does not run calico-node, confd or Kubernetes.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { peerPasswords } from "../../components/calico/bgp-rules";
import { configSchema } from "../../components/config";
import type { Plan, PlannedNode } from "../../components/plan";
import { baseConfig, planOf } from "../support/configs";
import { requireToolOrPend } from "../support/tools";
import { renderCalicoBirdStandin, standinInputFromPlan, standinProtocolName } from "./bgp/calico-bird-standin";
import { createLab, ExecResult, Lab, LabHost, leftoverNamespaces } from "./harness";

const BIRD2 = { commands: ["bird", "birdc"], apt: "bird2", purpose: "the BGP lab (a real BGP speaker as the upstream router)" };
const ROUTER_AS = 64500;
const CLUSTER_AS = 64512;
const ROUTER_V4 = "192.0.2.1";
const NODE_V4 = "192.0.2.11";
/** In the node network (nodeIpv6Prefix below), as README's example router. */
const ROUTER_V6 = "fd45:a71:55a6:1::1";
// Written to files, never through a shell: spaces and shell metacharacters are fine for BIRD.
const PASSWORD_V4 = "lab v4 $ecret&'";
const PASSWORD_V6 = "lab-v6-secret";
/** Bounds: BIRD's own timers make a session in ~1 s here (the stand-in's connect delay is 1 s). */
const ESTABLISH_MS = 30000;
/** How long a wrong setting must keep the sessions down: >= 3 connect retries of the node side. */
const NEGATIVE_MS = 10000;
const CTL = "/run/bird/bird.ctl";
const PID = "/run/bird/bird.pid";
const CONF = "/etc/bird/lab.conf";

function labConfig() {
    return baseConfig({
        nodes: [{ name: "node1", host: NODE_V4, role: "control-plane", interface: "eth0" }],
        calico: {
            bgp: {
                asNumber: CLUSTER_AS,
                nodeToNodeMesh: true,
                peers: [
                    { peerIP: ROUTER_V4, asNumber: ROUTER_AS, password: PASSWORD_V4 },
                    { peerIP: ROUTER_V6, asNumber: ROUTER_AS, password: PASSWORD_V6, keepOriginalNextHop: true },
                ],
                advertise: { serviceClusterIPs: true },
            },
        },
    });
}

interface Neighbor {
    name: string;
    address: string;
    as: number;
    password?: string;
    channel: "ipv4" | "ipv6";
}

/** The upstream router as an operator configures it: each node a neighbor, one session per family. */
function routerConfig(neighbors: Neighbor[]): string {
    return [
        "# The upstream router (written by hand, as README's BGP section shows).",
        `router id ${ROUTER_V4};`,
        "protocol device { scan time 2; }",
        ...neighbors.map((n) =>
            [
                `protocol bgp ${n.name} {`,
                `  local as ${ROUTER_AS};`,
                `  neighbor ${n.address} as ${n.as};`,
                ...(n.password !== undefined ? [`  password "${n.password}";`] : []),
                `  ${n.channel} { import all; export none; };`,
                "}",
            ].join("\n"),
        ),
        "",
    ].join("\n");
}

function neighborsFor(node: PlannedNode, over: { as?: number; passwordV4?: string; passwordV6?: string } = {}): Neighbor[] {
    return [
        { name: `${node.name}_v4`, address: node.ipv4, as: over.as ?? CLUSTER_AS, password: over.passwordV4 ?? PASSWORD_V4, channel: "ipv4" },
        { name: `${node.name}_v6`, address: node.ipv6, as: over.as ?? CLUSTER_AS, password: over.passwordV6 ?? PASSWORD_V6, channel: "ipv6" },
    ];
}

async function must(h: LabHost, cmd: string): Promise<string> {
    const r = await h.inspect(cmd);
    if (r.code !== 0) throw new Error(`${h.name}: ${cmd} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
}

interface RunningBird {
    host: LabHost;
    pid: number;
    /** Settles when the BIRD process has exited (and been reaped: it is a child of this process). */
    exited: Promise<ExecResult>;
}

/**
 * Starts BIRD in the host's namespaces with `conf`, in the foreground: `exec` keeps the chain
 * nsenter -> sh -> bird one process, a child of this test, which therefore reaps it. A parse error
 * fails here with BIRD's message; startup is bounded.
 */
async function startBird(h: LabHost, conf: string): Promise<RunningBird> {
    await h.writeFile(CONF, conf);
    await must(h, `mkdir -p /run/bird && bird -p -c ${CONF}`);
    let done: ExecResult | undefined;
    const exited = h.inspect(`exec bird -f -c ${CONF} -s ${CTL} -P ${PID}`).then((r) => (done = r));
    const deadline = Date.now() + 10000;
    for (;;) {
        if (done) throw new Error(`${h.name}: bird exited (${done.code}): ${done.stderr.trim()}`);
        const r = await h.inspect(`birdc -s ${CTL} show status`);
        if (r.code === 0 && r.stdout.includes("Daemon is up and running")) break;
        if (Date.now() > deadline) throw new Error(`${h.name}: bird did not answer on ${CTL} within 10 s: ${r.stdout}${r.stderr}`);
        await sleep(50);
    }
    return { host: h, pid: Number((await must(h, `cat ${PID}`)).trim()), exited };
}

/** Stops a BIRD started by startBird, by its pid; SIGKILL if it has not exited within 5 s. */
async function stopBird(b: RunningBird): Promise<void> {
    process.kill(b.pid, "SIGTERM");
    const timer = setTimeout(() => pidAlive(b.pid) && process.kill(b.pid, "SIGKILL"), 5000);
    await b.exited;
    clearTimeout(timer);
    await b.host.inspect(`rm -f ${CTL} ${PID}`);
}

/** Alive and not a zombie. */
function pidAlive(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
    } catch {
        return false;
    }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function birdc(h: LabHost, cmd: string): Promise<string> {
    return must(h, `birdc -s ${CTL} ${cmd}`);
}

/** `BGP state:` of each protocol (birdc show protocols all). */
async function bgpStates(h: LabHost, names: string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const n of names) {
        const text = await birdc(h, `show protocols all ${n}`);
        out[n] = /BGP state:\s+(\S+)/.exec(text)?.[1] ?? "?";
    }
    return out;
}

interface Side {
    host: LabHost;
    protocols: string[];
}

/** Polls both sides until every session is Established; the time it took, or an Error with the states. */
async function waitEstablished(sides: Side[], since: number, boundMs: number): Promise<number> {
    for (;;) {
        const states = await Promise.all(sides.map((s) => bgpStates(s.host, s.protocols)));
        if (states.every((st) => Object.values(st).every((v) => v === "Established"))) return Date.now() - since;
        if (Date.now() - since > boundMs) {
            const dump = await Promise.all(sides.map(async (s) => `${s.host.name}:\n${await birdc(s.host, "show protocols all")}`));
            throw new Error(`sessions not Established within ${boundMs} ms: ${JSON.stringify(states)}\n${dump.join("\n")}`);
        }
        await sleep(100);
    }
}

/** Watches for `ms`: no session may be Established at any poll; returns the last `show protocols all` of each side. */
async function assertNeverEstablished(sides: Side[], ms: number): Promise<string[]> {
    const end = Date.now() + ms;
    for (;;) {
        const states = await Promise.all(sides.map((s) => bgpStates(s.host, s.protocols)));
        const up = states.flatMap((st) => Object.entries(st).filter(([, v]) => v === "Established").map(([k]) => k));
        assert.deepEqual(up, [], `a session came up with a wrong setting: ${JSON.stringify(states)}`);
        if (Date.now() > end) return Promise.all(sides.map((s) => birdc(s.host, "show protocols all")));
        await sleep(200);
    }
}

/** The kernel's count of TCP segments dropped for a bad MD5 signature, in the host's namespace. */
async function md5Failures(h: LabHost): Promise<number> {
    const lines = (await must(h, "cat /proc/net/netstat")).split("\n").filter((l) => l.startsWith("TcpExt:"));
    const keys = lines[0].split(/\s+/);
    const values = lines[1].split(/\s+/);
    const at = keys.indexOf("TCPMD5Failure");
    assert.ok(at > 0, "this kernel reports no TCPMD5Failure counter");
    return Number(values[at]);
}

/** Prefixes in a BIRD table with the protocol and next hop that brought each (birdc show route all). */
async function learned(h: LabHost, table: string): Promise<{ prefix: string; proto: string; via: string }[]> {
    const text = await birdc(h, `show route table ${table}`);
    const out: { prefix: string; proto: string; via: string }[] = [];
    let cur: { prefix: string; proto: string; via: string } | undefined;
    for (const line of text.split("\n")) {
        const head = /^(\S+\/\d+)\s+\S+\s+\[(\S+)\s/.exec(line);
        if (head) {
            cur = { prefix: head[1], proto: head[2], via: "" };
            out.push(cur);
            continue;
        }
        const via = /^\s+via\s+(\S+)/.exec(line);
        if (via && cur) cur.via = via[1];
    }
    return out;
}

describe("BGP lab: Debian's bird2 as the upstream router accepts the rendered peer settings (IPv4 and IPv6)", function () {
    this.timeout(120000);
    let lab: Lab | undefined;
    let router: LabHost;
    let nodeHost: LabHost;
    let plan: Plan;
    let node: PlannedNode;
    let standin: string;
    const birds: RunningBird[] = [];
    let routerBird: RunningBird;
    let blocks: { ipv4: string; ipv6: string };
    let routerSide: Side;
    let nodeSide: Side;
    let labDirs: string[] = [];

    before(async function () {
        requireToolOrPend(this, BIRD2);
        const cfg = labConfig();
        plan = planOf(cfg);
        node = plan.nodes[0];
        // The Secret's data exactly as the program fills it (stack.ts: peerPasswords).
        const secret = peerPasswords(configSchema.parse(cfg).calico.bgp);
        const input = standinInputFromPlan(plan, node, secret);
        blocks = input.blocks;
        standin = renderCalicoBirdStandin(input);
        lab = await createLab({ hosts: 2, name: "bgp" });
        labDirs = fs.readdirSync("/var/tmp").filter((d) => d.startsWith(`dslab-${process.pid}-`));
        [router, nodeHost] = lab.hosts;
        // One link: the lab bridge, with the addresses of README's example on top of the lab's own.
        await must(router, `ip addr add ${ROUTER_V4}/24 dev eth0 && ip -6 addr add ${ROUTER_V6}/64 dev eth0 nodad`);
        await must(nodeHost, `ip addr add ${node.ipv4}/24 dev eth0 && ip -6 addr add ${node.ipv6Cidr} dev eth0 nodad`);
        routerSide = { host: router, protocols: neighborsFor(node).map((n) => n.name) };
        nodeSide = { host: nodeHost, protocols: [standinProtocolName(ROUTER_V4), standinProtocolName(ROUTER_V6)] };
    });

    after(async () => {
        await lab?.destroy();
    });

    it("the stand-in renders one session per peer in its address's family, with the plan's AS, password and next hop keep", () => {
        const block = (peer: string) => {
            const from = standin.indexOf(`protocol bgp ${standinProtocolName(peer)} `);
            assert.ok(from >= 0, `no session for ${peer}:\n${standin}`);
            return standin.slice(from, standin.indexOf("\n}\n", from) + 3);
        };
        const [v4, v6] = [block(ROUTER_V4), block(ROUTER_V6)];
        assert.match(standin, new RegExp(`local as ${CLUSTER_AS};`));
        assert.match(v4, new RegExp(`^protocol bgp Global_192_0_2_1 from bgp_template \\{\\n  neighbor ${ROUTER_V4} as ${ROUTER_AS};\\n  source address ${NODE_V4};\\n  password "${PASSWORD_V4.replace(/\$/g, "\\$")}";\\n  ipv4 \\{`));
        assert.match(v6, new RegExp(`^protocol bgp Global_fd45_a71_55a6_1__1 from bgp_template \\{\\n  neighbor ${ROUTER_V6} as ${ROUTER_AS};\\n  source address [0-9a-f:]+;\\n  password "${PASSWORD_V6}";\\n  ipv6 \\{[^}]*next hop keep;`));
        assert.ok(!v4.includes("next hop keep"), `next hop keep only where keepOriginalNextHop is set:\n${v4}`);
    });

    it("both sessions reach Established on both sides within the bound (time measured)", async () => {
        const t0 = Date.now();
        birds.push((routerBird = await startBird(router, routerConfig(neighborsFor(node)))));
        birds.push(await startBird(nodeHost, standin));
        const ms = await waitEstablished([routerSide, nodeSide], t0, ESTABLISH_MS);
        process.stderr.write(`      (both sessions Established on both sides ${ms} ms after the two BIRDs started)\n`);
    });

    it("the router learns the node's pod blocks (/26 of the IPv4 pool, /122 of the IPv6 pool) and the advertised Service ranges, via the node", async () => {
        assert.deepEqual([blocks.ipv4, blocks.ipv6], ["10.42.0.0/26", "fd45:a71:55a6:4200::/122"]);
        const want4 = [blocks.ipv4, plan.serviceCidrs.ipv4].sort();
        const want6 = [blocks.ipv6, plan.serviceCidrs.ipv6].sort();
        const deadline = Date.now() + ESTABLISH_MS;
        for (;;) {
            const [r4, r6] = [await learned(router, "master4"), await learned(router, "master6")];
            const got4 = r4.map((r) => r.prefix).sort();
            const got6 = r6.map((r) => r.prefix).sort();
            if (JSON.stringify(got4) === JSON.stringify(want4) && JSON.stringify(got6) === JSON.stringify(want6)) {
                assert.deepEqual(new Set(r4.map((r) => `${r.proto} ${r.via}`)), new Set([`${node.name}_v4 ${node.ipv4}`]));
                assert.deepEqual(new Set(r6.map((r) => `${r.proto} ${r.via}`)), new Set([`${node.name}_v6 ${node.ipv6}`]));
                break;
            }
            if (Date.now() > deadline) assert.fail(`router tables after ${ESTABLISH_MS} ms: IPv4 ${JSON.stringify(r4)}, IPv6 ${JSON.stringify(r6)}; want ${want4} and ${want6}`);
            await sleep(200);
        }
    });

    it("a wrong password on the router: no session comes up, and the router's kernel drops the node's MD5-signed segments", async () => {
        await stopBird(routerBird);
        const before = await md5Failures(router);
        birds.push((routerBird = await startBird(router, routerConfig(neighborsFor(node, { passwordV4: "not-the-password", passwordV6: "not-the-password" })))));
        const dump = await assertNeverEstablished([routerSide, nodeSide], NEGATIVE_MS);
        const dropped = (await md5Failures(router)) - before;
        assert.ok(dropped > 0, `no TCP-MD5 failure counted on the router, so the negative proves nothing:\n${dump.join("\n")}`);
    });

    it("a wrong AS for the node on the router: no session comes up, and BIRD says Bad peer AS for both families", async () => {
        await stopBird(routerBird);
        birds.push((routerBird = await startBird(router, routerConfig(neighborsFor(node, { as: CLUSTER_AS + 1 })))));
        const dump = await assertNeverEstablished([routerSide, nodeSide], NEGATIVE_MS);
        for (const name of routerSide.protocols) {
            const text = await birdc(router, `show protocols all ${name}`);
            assert.match(text, /Bad peer AS/, `${name}:\n${text}\n${dump.join("\n")}`);
        }
    });

    it("the right settings again: both sessions come back (the negatives were the settings, not the lab)", async () => {
        await stopBird(routerBird);
        const t0 = Date.now();
        birds.push((routerBird = await startBird(router, routerConfig(neighborsFor(node)))));
        const ms = await waitEstablished([routerSide, nodeSide], t0, ESTABLISH_MS);
        process.stderr.write(`      (re-established ${ms} ms after the router restarted)\n`);
    });

    it("teardown leaves no namespace, BIRD process or lab directory (the control sockets lived in the hosts' private /run)", async () => {
        assert.equal(birds.length, 5);
        await lab!.destroy();
        // destroy SIGKILLs every process in the hosts' namespaces; each BIRD is our child, so it is reaped.
        await Promise.race([Promise.all(birds.map((b) => b.exited)), sleep(5000)]);
        assert.deepEqual(leftoverNamespaces(), []);
        assert.deepEqual(birds.map((b) => b.pid).filter(pidAlive), []);
        assert.deepEqual(labDirs.filter((d) => fs.existsSync(`/var/tmp/${d}`)), []);
    });
});
