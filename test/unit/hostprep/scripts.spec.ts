import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { checkHostFacts } from "../../../components/hostprep";
import { artifacts } from "../../../components/hostprep/render";
import {
    CLUSTER_UNITS,
    hostPaths,
    hostPrepSteps,
    ifupdownStanza,
    netplanDropIn,
    persistenceFiles,
    sysctlDropIn,
    systemdUnit,
} from "../../../components/hostprep/scripts";
import { loadPlan, Plan } from "../../../components/plan";
import { q, remoteCommand } from "../../../components/shell";
import { baseConfig, planOf } from "../../support/configs";
import { Registered, RunResult, runProgram, stackConfig, transitiveDeps } from "../../support/program";
import { requireShellcheck, shellcheck } from "../../support/shellcheck";
import { tempDir } from "../../support/tmp";

const STACKS = ["lab-k3s", "lab-k0s"];

function stackPlan(stack: string): Plan {
    const raw = stackConfig(stack);
    return loadPlan((k) => raw[k], stack, Object.keys(raw)).plan;
}

/** Plans that exercise every rendering path: both stacks, sudo, a VLAN interface, an IPv6 literal host. */
function plans(): { title: string; plan: Plan }[] {
    return [
        ...STACKS.map((s) => ({ title: s, plan: stackPlan(s) })),
        {
            title: "sudo user, VLAN interface, IPv6 literal host",
            plan: planOf(
                baseConfig({
                    ssh: { user: "ubuntu", privateKeyPath: "/root/.ssh/id_ed25519" },
                    nodes: [{ name: "cp1", host: "2001:db8:100::5", ipv4: "192.168.121.135", role: "control-plane", interface: "eth0.100" }],
                }),
            ),
        },
    ];
}

describe("HostPrep scripts and files", () => {
    it("shellcheck -s sh passes on every rendered script of every plan variant", function () {
        this.timeout(60000);
        requireShellcheck(this);
        const dir = tempDir("hostprep-sc");
        const files: string[] = [];
        const seen = new Set<string>();
        for (const { plan } of plans()) {
            for (const a of artifacts(plan).filter((x) => x.path.endsWith(".sh"))) {
                // Also the full command strings (sudo wrapper included), as the host's sh gets them.
                for (const text of [a.content, remoteCommand(a.content, plan.ssh.sudo)]) {
                    if (seen.has(text)) continue;
                    seen.add(text);
                    const f = path.join(dir, `${files.length}.sh`);
                    fs.writeFileSync(f, text);
                    files.push(f);
                }
            }
        }
        assert.ok(files.length >= 10);
        // No exclusions: shell.ts `q` leaves IPv6 addresses bare (no `\:` escapes for SC1001 to flag).
        const r = shellcheck(["-s", "sh", ...files]);
        assert.equal(r.status, 0, r.stdout + r.stderr);
    });

    it("renders per node: five step scripts, the three persistence variants and the sysctl drop-in", () => {
        const plan = stackPlan("lab-k3s");
        const paths = artifacts(plan).map((a) => a.path);
        for (const n of plan.nodes) {
            for (const f of ["facts-create.sh", "ipv6-create.sh", "ipv6-delete.sh", "sysctl-create.sh", "sysctl-delete.sh"]) assert.ok(paths.includes(`nodes/${n.name}/scripts/${f}`), f);
            for (const f of [
                "etc/systemd/system/dualstack-ipv6-eth0.service",
                "etc/netplan/60-dualstack-eth0.yaml",
                "etc/network/interfaces.d/60-dualstack-eth0",
                "etc/sysctl.d/90-dualstack.conf",
            ])
                assert.ok(paths.includes(`nodes/${n.name}/${f}`), f);
        }
        assert.equal(new Set(paths).size, paths.length);
    });

    it("the systemd unit: oneshot before k3s/k0s, `ip -6 addr replace ... nodad`", () => {
        const n = planOf().nodes[0];
        const unit = systemdUnit(n);
        assert.match(unit, /^Type=oneshot$/m);
        assert.match(unit, /^RemainAfterExit=yes$/m);
        assert.match(unit, /^After=network-online\.target$/m);
        assert.match(unit, new RegExp(`^Before=${CLUSTER_UNITS.join(" ").replace(/\./g, "\\.")}$`, "m"));
        assert.ok(unit.includes(`\nExecStart=ip -6 addr replace ${n.ipv6Cidr} dev eth0 nodad\n`));
        assert.match(unit, /^WantedBy=multi-user\.target$/m);
    });

    it("the netplan drop-in adds the address to ethernets.<iface> (yaml library), the ifupdown stanza adds an inet6 static stanza", () => {
        const n = planOf().nodes[0];
        assert.deepEqual(parse(netplanDropIn(n)), { network: { version: 2, ethernets: { eth0: { addresses: [n.ipv6Cidr] } } } });
        assert.match(ifupdownStanza(n), new RegExp(`^iface eth0 inet6 static\\n    address ${n.ipv6Cidr.replace(/\./g, "\\.")}\\n    dad-attempts 0\\n$`, "m"));
    });

    it("sysctls: forwarding for both families, accept_ra=2 per interface (sysctl.d writes a VLAN's dot as /)", () => {
        const [n] = plans()[2].plan.nodes;
        const text = sysctlDropIn(n);
        const keys = text.split("\n").filter((l) => l && !l.startsWith("#"));
        assert.deepEqual(keys, ["net.ipv4.ip_forward = 1", "net.ipv6.conf.all.forwarding = 1", "net.ipv6.conf.default.accept_ra = 2", "net.ipv6.conf.eth0/100.accept_ra = 2"]);
        assert.match(text, /pulumi destroy removes this file and restores the values recorded in \/var\/lib\/dualstack\/sysctl\.state\./);
        const create = hostPrepSteps(n).find((s) => s.name === "sysctl")!.create;
        assert.match(create, /sysctl -q -p "\$f"/);
        assert.doesNotMatch(create, /--system/);
    });

    it("every value enters the scripts quoted; the ipv6 scripts decide persistence at run time and record it", () => {
        const plan = plans()[2].plan;
        const [n] = plan.nodes;
        const [facts, ipv6, sysctl] = hostPrepSteps(n);
        assert.equal(facts.delete, undefined, "facts are read-only");
        assert.ok(ipv6.create.includes(`cidr=${q(n.ipv6Cidr)}\n`) && ipv6.create.includes(`iface=${q(n.interface)}\n`));
        for (const kind of ["netplan)", "networkmanager)", "ifupdown)", "systemd)"]) {
            assert.ok(ipv6.create.includes(kind) && ipv6.delete!.includes(kind), kind);
        }
        assert.match(ipv6.create, /ip -6 addr replace "\$cidr" dev "\$iface" nodad/);
        assert.match(ipv6.create, /systemctl is-enabled --quiet "\$unit" \|\| systemctl enable --now "\$unit"/);
        assert.match(ipv6.delete!, /ip -6 addr del "\$cidr" dev "\$iface"/);
        assert.match(ipv6.delete!, /if \[ ! -f "\$state" \]; then exit 0; fi/, "delete with nothing recorded does nothing");
        assert.ok(ipv6.create.includes(`state=${hostPaths(n).state}`));
        for (const f of persistenceFiles(n)) assert.ok(ipv6.create.includes(q(f.content)), `${f.kind} file text is in the ipv6 create`);
        assert.ok(sysctl.create.includes(q(sysctlDropIn(n))));
    });

    it("host file texts stay verbatim inside the registered command string (no quote, backslash, $, backtick or !)", () => {
        for (const { plan } of plans()) {
            for (const n of plan.nodes) {
                for (const text of [...persistenceFiles(n).map((f) => f.content), sysctlDropIn(n)]) {
                    assert.doesNotMatch(text, /['"\\$`!]/);
                    const step = text === sysctlDropIn(n) ? "sysctl" : "ipv6";
                    assert.ok(remoteCommand(hostPrepSteps(n).find((s) => s.name === step)!.create, plan.ssh.sudo).includes(q(text)));
                }
            }
        }
    });

    it("the preflight gate passes without facts, and throws a clear error for a host Calico would misread", () => {
        const plan = planOf();
        const n = plan.nodes[0];
        assert.equal(checkHostFacts(plan, n, ""), undefined);
        const doc = (addrs: object[]) =>
            JSON.stringify({
                schema: 1, hostname: "cp1", user: "root", init: "systemd", networkManager: "none", persistence: "systemd", uid: 0, viaSudo: false,
                interfaces: [
                    { ifindex: 2, ifname: "eth0", addr_info: [{ family: "inet6", local: "fe80::5", prefixlen: 64, scope: "link" }] },
                    { ifindex: 3, ifname: "eth1", addr_info: addrs },
                ],
                ipv6DefaultRoutes: [],
            });
        assert.equal(checkHostFacts(plan, n, doc([]))!.hostname, "cp1");
        assert.throws(
            () => checkHostFacts(plan, n, doc([{ family: "inet6", local: "fd45:a71:55a6:1::77", prefixlen: 64, scope: "global" }])),
            /^Error: dualstack preflight: host cp1 \(192\.168\.121\.135\): calico-node IPv6 autodetection \(cidr=fd45:a71:55a6:1::\/64\) would pick fd45:a71:55a6:1::77\/64 on eth1/,
        );
        assert.throws(() => checkHostFacts(plan, n, "not json"), /host facts are not JSON/);
    });
});

describe("HostPrep under the mock runtime", () => {
    const runs = new Map<string, RunResult>();
    before(async function () {
        this.timeout(60000);
        for (const s of STACKS) for (const preview of [true, false]) runs.set(`${s}/${preview}`, await runProgram({ stack: s, preview }));
    });

    const hostPrepChildren = (r: RunResult, comp: Registered) => r.resources.filter((x) => x.parent === comp.urn);

    for (const stack of STACKS) {
        it(`${stack}: three named commands per host, delete where create changes the host, deleteBeforeReplace, quiet env`, () => {
            const r = runs.get(`${stack}/false`)!;
            const plan = stackPlan(stack);
            const comps = r.byType("dualstack:index:HostPrep");
            assert.deepEqual(comps.map((c) => c.name).sort(), plan.nodes.map((n) => `host-${n.name}`).sort());
            for (const comp of comps) {
                const kids = hostPrepChildren(r, comp);
                assert.deepEqual(kids.map((k) => k.name).sort(), ["facts", "ipv6", "sysctl"].map((s) => `${comp.name}-${s}`));
                for (const k of kids) {
                    assert.equal(k.type, "command:remote:Command");
                    assert.equal(k.inputs.addPreviousOutputInEnv, false, "no PULUMI_COMMAND_* env (AcceptEnv noise)");
                    assert.ok(k.secretInputs.includes("connection"));
                    const changing = !k.name.endsWith("-facts");
                    assert.equal(typeof k.inputs.delete === "string", changing, `${k.name} delete`);
                    assert.equal(k.deleteBeforeReplace, changing, `${k.name} deleteBeforeReplace`);
                    assert.equal(k.inputs.logging, changing ? "stdoutAndStderr" : "stderr");
                }
                const ipv6 = kids.find((k) => k.name.endsWith("-ipv6"))!;
                const node = plan.nodes.find((n) => `host-${n.name}` === comp.name)!;
                assert.deepEqual(ipv6.inputs.triggers, [node.ipv6Cidr, node.interface], "a new address is a replace (old one removed first)");
            }
        });

        it(`${stack}: hosts are prepared in parallel (no dependency across hosts); both changing steps wait for their own facts`, () => {
            const r = runs.get(`${stack}/false`)!;
            const comps = r.byType("dualstack:index:HostPrep");
            for (const comp of comps) {
                const mine = new Set(hostPrepChildren(r, comp).map((k) => k.urn));
                const others = new Set(comps.filter((c) => c !== comp).flatMap((c) => [c.urn, ...hostPrepChildren(r, c).map((k) => k.urn)]));
                const facts = hostPrepChildren(r, comp).find((k) => k.name.endsWith("-facts"))!;
                for (const k of hostPrepChildren(r, comp)) {
                    const deps = transitiveDeps(r, k);
                    assert.deepEqual([...deps].filter((u) => others.has(u)), [], `${k.name} waits for another host`);
                    if (k !== facts) assert.ok(k.dependencies.includes(facts.urn), `${k.name} waits for the preflight over its facts`);
                    assert.ok([...deps].every((u) => mine.has(u) || !u.includes("HostPrep")), `${k.name}`);
                }
                assert.deepEqual(facts.dependencies, []);
            }
        });

        it(`${stack}: the registered commands are exactly the rendered scripts, known in preview`, () => {
            for (const preview of [true, false]) {
                const r = runs.get(`${stack}/${preview}`)!;
                const plan = stackPlan(stack);
                const rendered = new Map(artifacts(plan).map((a) => [a.path, a.content]));
                for (const n of plan.nodes) {
                    for (const step of ["facts", "ipv6", "sysctl"]) {
                        const k = r.byName(`host-${n.name}-${step}`);
                        assert.equal(k.inputs.create, remoteCommand(rendered.get(`nodes/${n.name}/scripts/${step}-create.sh`)!, plan.ssh.sudo));
                        if (step !== "facts") assert.equal(k.inputs.delete, remoteCommand(rendered.get(`nodes/${n.name}/scripts/${step}-delete.sh`)!, plan.ssh.sudo));
                    }
                }
                if (!preview) assert.equal(r.outputs.ipv6AutodetectionMethod, plan.autodetection.ipv6Method);
            }
        });
    }

    it("the same config gives byte-identical HostPrep inputs", async function () {
        this.timeout(30000);
        const again = await runProgram({ stack: "lab-k3s", preview: true });
        const dump = (r: RunResult) => JSON.stringify(r.resources.filter((x) => x.name.startsWith("host-")).map((x) => [x.urn, x.inputs, x.dependencies]));
        assert.equal(dump(again), dump(runs.get("lab-k3s/true")!));
    });

    it("a non-root SSH user runs every step through sudo -n with a clear error", async function () {
        this.timeout(30000);
        const cfg = stackConfig("lab-k3s");
        const ssh = JSON.parse(cfg["dualstack:ssh"]);
        const r = await runProgram({ config: { ...cfg, "dualstack:ssh": JSON.stringify({ ...ssh, user: "ubuntu" }) }, preview: true });
        for (const k of r.resources.filter((x) => /^host-.*-(facts|ipv6|sysctl)$/.test(x.name))) {
            for (const s of [k.inputs.create, k.inputs.delete].filter((x) => typeof x === "string")) {
                assert.match(s, /^if ! sudo -n true 2>\/dev\/null; then echo "dualstack: user \$\(id -un\) cannot run sudo without a password/);
                assert.match(s, /\nsudo -n sh -c /);
            }
        }
    });
});
