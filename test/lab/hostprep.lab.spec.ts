// Host preparation on real SSH test hosts (see harness.ts): the program runs under the mock
// runtime and the lab executes exactly the create/delete strings HostPrep registers, over SSH.
// Systemd does not run in a lab host: its `systemctl` is a recording TEST DOUBLE (harness.ts
// SYSTEMCTL_DOUBLE) whose log we assert on.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as pulumi from "@pulumi/pulumi";
import { connectionFor } from "../../components/connection";
import { HostPrep } from "../../components/hostprep";
import { autodetectIPv6, preflight } from "../../components/hostprep/autodetect";
import { parseFacts } from "../../components/hostprep/facts";
import { hostPaths, ifupdownStanza, netplanDropIn, SYSCTL_FILE, SYSCTL_STATE } from "../../components/hostprep/scripts";
import type { Plan } from "../../components/plan";
import { loadPlan } from "../../components/plan";
import { rawConfig } from "../support/configs";
import { Registered, RunResult, runProgram } from "../support/program";
import { destroyRegistered, ExecuteArgs, labExecutor, runRemote, underComponent } from "./executor";
import { createLab, Lab, LabHost, leftoverNamespaces, requireLabPrerequisites, SYSTEMCTL_DOUBLE_LOG } from "./harness";

const PREFIX = "fd5e:1ab:7c2d:1::/64";
const HOSTPREP = "dualstack:index:HostPrep";
// Until the harness passes parent URNs to `execute`, HostPrep's children are known by the names
// the component gives them (`<component>-<step>`, component `host-<node>` in index.ts).
const HOSTPREP_CHILD = /^host-[a-z0-9-]+-(facts|ipv6|sysctl)$/;
const isHostPrepStep = (r: ExecuteArgs) => underComponent(HOSTPREP)(r) || HOSTPREP_CHILD.test(r.name);

function labConfig(lab: Lab, hosts: LabHost[], nodeOverrides: Record<string, Record<string, unknown>> = {}): Record<string, string> {
    return rawConfig({
        distribution: "k3s",
        version: "v1.33.5+k3s1",
        ssh: { user: "root", privateKey: lab.privateKey },
        nodes: hosts.map((h, i) => ({
            name: h.name,
            host: h.ipv4,
            role: i === 0 ? "control-plane" : "worker",
            interface: h.iface,
            hostKey: h.hostKey,
            ...(nodeOverrides[h.name] ?? {}),
        })),
        network: {
            nodeIpv6Prefix: PREFIX,
            podCidrs: ["10.42.0.0/16", "fd5e:1ab:7c2d:4200::/56"],
            serviceCidrs: ["10.43.0.0/16", "fd5e:1ab:7c2d:43::/112"],
        },
        checks: { enabled: false },
    });
}

function planOf(config: Record<string, string>): Plan {
    return loadPlan((k) => config[k], "lab", Object.keys(config)).plan;
}

function hostPrepSteps(result: RunResult): Registered[] {
    return result.resources.filter((r) => r.type === "command:remote:Command" && r.parent.split("::")[2]?.split("$").includes(HOSTPREP));
}

/** Runs the program with HostPrep's commands executed for real on the lab hosts. */
async function up(lab: Lab, config: Record<string, string>) {
    const ex = labExecutor(lab, { select: isHostPrepStep });
    const started = Date.now();
    const result = await runProgram({ config, preview: false, execute: ex.execute, stackName: "lab" });
    return { result, ex, ms: Date.now() - started };
}

async function down(lab: Lab, run: { result: RunResult; ex: { executed: string[] } }) {
    await destroyRegistered(run.result, lab, { only: run.ex.executed });
}

/**
 * One HostPrep under the mock runtime with its commands run on the lab, returning the error the
 * run fails with. A failing preflight rejects the changing steps' dependsOn, which the Pulumi
 * language host reports as the program's failure (an unhandled rejection); the shared harness
 * (test/support/program.ts) does not turn that into a rejected run yet, so it is caught here.
 */
async function hostPrepAlone(lab: Lab, config: Record<string, string>, ex: ReturnType<typeof labExecutor>): Promise<Error> {
    const plan = planOf(config);
    const node = plan.nodes[0];
    // Registrations of the refused run never settle, by design; keep Pulumi's exit-time leak
    // check (which would fail the whole mocha run) to the promises of the other runs.
    const store = require("@pulumi/pulumi/runtime/state").getStore();
    const known = new Set(store.leakCandidates);
    let onError: (e: unknown) => void = () => undefined;
    const failed = new Promise<Error>((resolve) => (onError = (e) => resolve(e as Error)));
    process.on("unhandledRejection", onError);
    try {
        await pulumi.runtime.setMocks(
            {
                async newResource(a) {
                    const out = await ex.execute({ type: a.type, name: a.name, inputs: a.inputs });
                    return { id: `${a.name}-id`, state: { ...a.inputs, stdout: "", stderr: "", ...(out ?? {}) } };
                },
                call: (a) => a.inputs,
            },
            "dualstack",
            "lab",
            false,
        );
        const prep = new HostPrep(`host-${node.name}`, { plan, node, connection: connectionFor(plan, node, { privateKey: pulumi.secret(lab.privateKey) }) });
        const ready = Promise.all(prep.ready.map((r) => new Promise((res) => r.urn.apply(res)))).then(() => new Error("host preparation succeeded"));
        const timeout = new Promise<Error>((res) => setTimeout(() => res(new Error("timed out waiting for the preflight")), 20000).unref());
        return await Promise.race([failed, ready, timeout]);
    } finally {
        process.removeListener("unhandledRejection", onError);
        for (const p of [...store.leakCandidates]) if (!known.has(p)) store.leakCandidates.delete(p);
    }
}

async function must(h: LabHost, command: string): Promise<string> {
    const r = await h.inspect(command);
    assert.equal(r.code, 0, `${h.name}: ${command}: ${r.stderr}`);
    return r.stdout;
}

interface Snapshot {
    addresses: string[];
    files: string;
    /** The running values host preparation changes (and, through all.forwarding/ip_forward, the interface's own). */
    sysctls: string;
    systemctlCalls: string[];
}

/** Runtime sysctls of a host: a drop-in's removal does not reset them, the sysctl step's delete must. */
const sysctlFiles = (iface: string) => [
    "/proc/sys/net/ipv4/ip_forward",
    `/proc/sys/net/ipv4/conf/${iface}/forwarding`,
    "/proc/sys/net/ipv6/conf/all/forwarding",
    "/proc/sys/net/ipv6/conf/default/forwarding",
    `/proc/sys/net/ipv6/conf/${iface}/forwarding`,
    "/proc/sys/net/ipv6/conf/all/accept_ra",
    "/proc/sys/net/ipv6/conf/default/accept_ra",
    `/proc/sys/net/ipv6/conf/${iface}/accept_ra`,
];

const WATCHED = ["/etc/sysctl.d", "/etc/systemd/system", "/etc/netplan", "/etc/network", "/etc/NetworkManager", "/var/lib/dualstack"];

/** What host preparation may change on a host: eth0's IPv6 addresses, runtime sysctls and the watched files (content, mode, mtime). */
async function snapshot(h: LabHost): Promise<Snapshot> {
    const addrs = JSON.parse(await must(h, `ip -j -6 addr show dev ${h.iface}`))[0].addr_info.map((a: any) => `${a.local}/${a.prefixlen} ${a.scope}`).sort();
    const files = await must(h, `for d in ${WATCHED.join(" ")}; do [ -d "$d" ] && find "$d" -type f -exec stat -c '%n %a %Y' {} \\; -exec sha256sum {} \\; ; done | sort; true`);
    const sysctls = await must(h, `for f in ${sysctlFiles(h.iface).join(" ")}; do echo "$f=$(cat "$f")"; done`);
    const log = (await h.inspect(`cat ${SYSTEMCTL_DOUBLE_LOG} 2>/dev/null || true`)).stdout;
    return { addresses: addrs, files, sysctls, systemctlCalls: log.split("\n").filter(Boolean) };
}

async function v6Addresses(h: LabHost): Promise<{ local: string; prefixlen: number; scope: string }[]> {
    return JSON.parse(await must(h, `ip -j -6 addr show dev ${h.iface}`))[0].addr_info;
}

describe("lab: host preparation on real SSH test hosts", function () {
    this.timeout(120000);
    let lab: Lab;
    const firstState = new Map<string, Snapshot>();
    const machineHadPwned = fs.existsSync("/tmp/pwned");

    before(async function () {
        requireLabPrerequisites();
        lab = await createLab({ hosts: 8, name: "hostprep" });
        for (const h of lab.hosts) firstState.set(h.name, await snapshot(h));
    });

    after(async function () {
        if (lab) await lab.destroy();
        assert.deepEqual(leftoverNamespaces(), [], "the lab left network namespaces behind");
    });

    it("before: a fresh host has only link-local IPv6; the Calico emulation finds nothing and preflight says so", async () => {
        const hosts = lab.hosts.slice(0, 3);
        const config = labConfig(lab, hosts);
        const plan = planOf(config);
        const preview = await runProgram({ config, preview: true, stackName: "lab" });
        for (const h of hosts) {
            const factsCmd = preview.byName(`host-${h.name}-facts`);
            // The registered facts string, run over SSH as the provider would.
            const { stdout } = await runRemote(lab, factsCmd.name, factsCmd.inputs, factsCmd.inputs.create);
            const facts = parseFacts(stdout);
            const eth0 = facts.interfaces.find((i) => i.name === h.iface)!;
            assert.ok(eth0.addresses.some((a) => a.family === "inet6" && a.scope === "link"), "a fresh host has a link-local address");
            assert.ok(eth0.addresses.every((a) => a.family !== "inet6" || a.scope === "link"), "and nothing but link-local");
            assert.equal(facts.networkManager, "none");
            assert.equal(facts.persistence, "systemd");
            assert.equal(facts.ipv6DefaultRoutes.length, 0);
            assert.equal(autodetectIPv6(facts.interfaces, "first-found").found, undefined);
            const node = plan.nodes.find((n) => n.name === h.name)!;
            const pf = preflight({ host: node.host, node, facts, method: plan.autodetection.ipv6Method });
            assert.equal(pf.ok, false);
            assert.match(pf.message!, new RegExp(`host ${h.name} \\(${h.ipv4.replace(/\./g, "\\.")}\\)`));
            assert.match(pf.message!, /would find no address \("no valid IPv6 addresses found on the host interfaces"\)/);
            assert.match(pf.message!, /interface eth0 has fe80:[0-9a-f:]+\/64 \(link\)/);
            assert.ok(pf.message!.includes(node.ipv6Cidr));
        }
    });

    it("create, create again, reboot, delete: the planned address, sysctls and persistence come and go exactly", async () => {
        const hosts = lab.hosts.slice(0, 3);
        const config = labConfig(lab, hosts);
        const plan = planOf(config);
        const warnings: string[] = [];
        const origWarn = console.warn;
        console.warn = (...a: unknown[]) => void warnings.push(a.map(String).join(" "));
        let run: Awaited<ReturnType<typeof up>>;
        try {
            run = await up(lab, config);
        } finally {
            console.warn = origWarn;
        }
        const steps = hostPrepSteps(run.result);
        assert.equal(steps.length, 9);
        assert.deepEqual([...run.ex.executed].sort(), steps.map((s) => s.name).sort(), "exactly HostPrep's commands ran on the hosts");
        const method = String(run.result.outputs.ipv6AutodetectionMethod);
        assert.equal(method, `cidr=${PREFIX}`);
        // A missing IPv6 default route is a warning, not a failure.
        for (const h of hosts) assert.ok(warnings.some((w) => w.includes(`host ${h.name}`) && w.includes("no IPv6 default route")), `no default-route warning for ${h.name}`);

        for (const h of hosts) {
            const node = plan.nodes.find((n) => n.name === h.name)!;
            const v6 = await v6Addresses(h);
            assert.ok(v6.some((a) => a.local === node.ipv6 && a.prefixlen === 64 && a.scope === "global"), `${h.name}: ${node.ipv6Cidr} with global scope`);
            // The emulation, over fresh facts from the registered facts command, picks it with the exported method.
            const factsCmd = run.result.byName(`host-${h.name}-facts`);
            const facts = parseFacts((await runRemote(lab, factsCmd.name, factsCmd.inputs, factsCmd.inputs.create)).stdout);
            assert.deepEqual(autodetectIPv6(facts.interfaces, method).found, { interface: "eth0", address: node.ipv6, prefixLength: 64 });
            assert.equal(preflight({ host: node.host, node, facts, method }).ok, true);
            // Sysctls hold inside the host's own network namespace.
            assert.equal((await must(h, "cat /proc/sys/net/ipv4/ip_forward")).trim(), "1");
            assert.equal((await must(h, "cat /proc/sys/net/ipv6/conf/all/forwarding")).trim(), "1");
            assert.equal((await must(h, "cat /proc/sys/net/ipv6/conf/eth0/accept_ra")).trim(), "2");
            assert.equal((await must(h, "cat /proc/sys/net/ipv6/conf/default/accept_ra")).trim(), "2");
            // Persistence: no network manager runs here, so a systemd unit, enabled through the double.
            const p = hostPaths(node);
            assert.ok((await must(h, `cat ${p.unit}`)).includes(`ExecStart=ip -6 addr replace ${node.ipv6Cidr} dev eth0 nodad`));
            const calls = (await snapshot(h)).systemctlCalls;
            assert.ok(calls.includes(`enable --now ${p.unitName}`), `${h.name}: systemctl double saw ${JSON.stringify(calls)}`);
            assert.match(await must(h, `cat ${p.state}`), /^added=yes\npersist=systemd\n/);
            assert.ok((await must(h, `cat ${SYSCTL_FILE}`)).includes("net.ipv6.conf.eth0.accept_ra = 2"));
            // What the host had before (a fresh network namespace), root-only, for the delete.
            assert.equal(await must(h, `cat ${SYSCTL_STATE}`), "net.ipv4.ip_forward=0\nnet.ipv6.conf.all.forwarding=0\nnet.ipv6.conf.default.accept_ra=1\nnet.ipv6.conf.eth0.accept_ra=1\n");
            assert.equal(await must(h, `stat -c '%a %U' ${SYSCTL_STATE}`), "600 root\n");
        }
        // The hosts reach each other over IPv6 on the planned addresses.
        for (const a of hosts) {
            for (const b of hosts) {
                if (a === b) continue;
                const target = plan.nodes.find((n) => n.name === b.name)!.ipv6;
                const r = await a.ssh(`ping -6 -c1 -W2 ${target}`);
                assert.equal(r.code, 0, `${a.name} -> ${b.name} (${target}): ${r.stdout}${r.stderr}`);
            }
        }

        // Create again: nothing changes (addresses, files byte for byte with their mtimes, no new enable).
        const afterFirst = new Map(await Promise.all(hosts.map(async (h) => [h.name, await snapshot(h)] as const)));
        const again = await up(lab, config);
        assert.equal(again.ex.executed.length, 9);
        for (const h of hosts) {
            const s = await snapshot(h);
            const f = afterFirst.get(h.name)!;
            assert.deepEqual(s.addresses, f.addresses);
            assert.equal(s.files, f.files);
            assert.equal(s.sysctls, f.sysctls);
            assert.equal(s.systemctlCalls.filter((c) => c.startsWith("enable")).length, 1, `${h.name}: ${JSON.stringify(s.systemctlCalls)}`);
        }

        // A reboot loses the address; the persisted unit brings it back when "systemd" starts it.
        const h1 = hosts[0];
        const n1 = plan.nodes[0];
        await must(h1, `ip -6 addr del ${n1.ipv6Cidr} dev eth0`);
        assert.ok(!(await v6Addresses(h1)).some((a) => a.local === n1.ipv6));
        await must(h1, `systemctl start ${hostPaths(n1).unitName}`);
        assert.ok((await v6Addresses(h1)).some((a) => a.local === n1.ipv6 && a.scope === "global"), "the unit restores the address");

        // Delete (as pulumi destroy would, dependents first): back to the first state.
        await down(lab, run);
        for (const h of hosts) {
            const s = await snapshot(h);
            const first = firstState.get(h.name)!;
            assert.deepEqual(s.addresses, first.addresses, `${h.name}: only link-local again`);
            assert.equal(s.files, first.files, `${h.name}: no drop-in, no unit, no state file`);
            assert.equal(s.sysctls, first.sysctls, `${h.name}: the running sysctls are back to what the host had`);
            assert.ok(s.systemctlCalls.includes(`disable --now ${hostPaths(plan.nodes.find((n) => n.name === h.name)!).unitName}`));
            assert.equal((await h.inspect("test -e /var/lib/dualstack")).code, 1);
        }
    });

    it("an address that was already there is kept, and not removed on delete", async () => {
        const [h1, h2] = lab.hosts.slice(0, 2);
        const config = labConfig(lab, [h1, h2]);
        const plan = planOf(config);
        const [n1] = plan.nodes;
        // h1: someone already configured the planned address; h2: another global address elsewhere.
        await must(h1, `ip -6 addr add ${n1.ipv6Cidr} dev eth0 nodad`);
        await must(h2, "ip -6 addr add fd00:beef::5/64 dev eth0 nodad");
        const run = await up(lab, config);
        assert.match(await must(h1, `cat ${hostPaths(n1).state}`), /^added=no\npersist=none\n/);
        assert.equal((await h1.inspect(`test -e ${hostPaths(n1).unit}`)).code, 1, "no persistence for an address dualstack did not add");
        const n2 = plan.nodes[1];
        assert.ok((await v6Addresses(h2)).some((a) => a.local === n2.ipv6));
        await down(lab, run);
        assert.ok((await v6Addresses(h1)).some((a) => a.local === n1.ipv6 && a.scope === "global"), "h1 keeps its address");
        const h2After = await v6Addresses(h2);
        assert.ok(h2After.some((a) => a.local === "fd00:beef::5"), "h2 keeps its own address");
        assert.ok(!h2After.some((a) => a.local === n2.ipv6), "h2 loses only what dualstack added");
        await must(h1, `ip -6 addr del ${n1.ipv6Cidr} dev eth0`);
        await must(h2, "ip -6 addr del fd00:beef::5/64 dev eth0");
        for (const h of [h1, h2]) assert.deepEqual(await snapshot(h).then((s) => [s.addresses, s.files, s.sysctls]), [firstState.get(h.name)!.addresses, firstState.get(h.name)!.files, firstState.get(h.name)!.sysctls]);
    });

    it("persists with the host's own network manager (netplan, NetworkManager, ifupdown test doubles) and undoes exactly that", async () => {
        const [hNetplan, hNm, hIfup, hIfupNoSource] = lab.hosts.slice(3, 7);
        // TEST DOUBLES of netplan, nmcli and ifup: they record their argv and keep just enough state
        // for the scripts' queries. The real tools are not installed in the lab.
        await hNetplan.writeFile("/etc/netplan/50-cloud-init.yaml", "network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n", 0o600);
        await hNetplan.writeFile(
            "/usr/local/bin/netplan",
            [
                "#!/bin/sh",
                "# TEST DOUBLE of netplan for the dualstack lab: records argv; `get ethernets.X` answers from the files.",
                'echo "$*" >> /run/netplan-double.log',
                'case "$1" in',
                '  get) if grep -q "^    ${2#ethernets.}:" /etc/netplan/*.yaml; then echo "dhcp4: true"; else echo null; fi ;;',
                "  generate) ;;",
                "esac",
                "",
            ].join("\n"),
            0o755,
        );
        await hNm.writeFile(
            "/usr/local/bin/nmcli",
            [
                "#!/bin/sh",
                "# TEST DOUBLE of nmcli for the dualstack lab: one running connection on eth0 with ipv6.method auto;",
                "# ipv6.addresses kept in /run/nm-double/addresses. Records argv.",
                'echo "$*" >> /run/nm-double.log',
                "mkdir -p /run/nm-double; f=/run/nm-double/addresses; touch $f",
                'case "$*" in',
                '  "-t -f RUNNING general") echo running ;;',
                '  "-g GENERAL.CONNECTION device show eth0") echo "Wired connection 1" ;;',
                '  "-g ipv6.method connection show Wired connection 1") echo auto ;;',
                '  "-g ipv6.addresses connection show Wired connection 1") paste -sd, $f ;;',
                '  "connection modify Wired connection 1 +ipv6.addresses "*) echo "${*##* }" >> $f ;;',
                '  "connection modify Wired connection 1 -ipv6.addresses "*) grep -vxF "${*##* }" $f > $f.new || true; mv $f.new $f ;;',
                "  *) echo \"nmcli double: unexpected $*\" >&2; exit 2 ;;",
                "esac",
                "",
            ].join("\n"),
            0o755,
        );
        for (const h of [hIfup, hIfupNoSource]) {
            await h.writeFile("/usr/local/bin/ifup", "#!/bin/sh\n# TEST DOUBLE of ifup for the dualstack lab: records argv.\necho \"$*\" >> /run/ifup-double.log\n", 0o755);
        }
        await hIfup.writeFile("/etc/network/interfaces", "source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n");
        await hIfupNoSource.writeFile("/etc/network/interfaces", "auto lo\niface lo inet loopback\n");
        const hosts = [hNetplan, hNm, hIfup, hIfupNoSource];
        const before = new Map(await Promise.all(hosts.map(async (h) => [h.name, await snapshot(h)] as const)));
        const config = labConfig(lab, hosts);
        const plan = planOf(config);
        const node = (h: LabHost) => plan.nodes.find((n) => n.name === h.name)!;
        const run = await up(lab, config);
        const again = await up(lab, config);
        assert.equal(again.ex.executed.length, 12);

        const np = hostPaths(node(hNetplan));
        assert.match(await must(hNetplan, `stat -c %a ${np.netplan}`), /^600\n$/);
        assert.equal(await must(hNetplan, `cat ${np.netplan}`), netplanDropIn(node(hNetplan)));
        assert.deepEqual((await must(hNetplan, "cat /run/netplan-double.log")).split("\n").filter((l) => l === "generate"), ["generate"], "generate once: the second run changed nothing");
        assert.match(await must(hNetplan, `cat ${np.state}`), /^added=yes\npersist=netplan\n/);
        assert.equal((await hNetplan.inspect(`test -e ${np.unit}`)).code, 1);

        assert.match(await must(hNm, `cat ${hostPaths(node(hNm)).state}`), /^added=yes\npersist=networkmanager\nnm_connection=Wired connection 1\n/);
        assert.equal(await must(hNm, "cat /run/nm-double/addresses"), `${node(hNm).ipv6Cidr}\n`, "added once");

        assert.equal(await must(hIfup, `cat ${hostPaths(node(hIfup)).ifupdown}`), ifupdownStanza(node(hIfup)));
        // ifupdown without `source /etc/network/interfaces.d/*` would never read a stanza file: systemd unit instead.
        assert.match(await must(hIfupNoSource, `cat ${hostPaths(node(hIfupNoSource)).state}`), /persist=systemd/);
        assert.equal((await hIfupNoSource.inspect(`test -e ${hostPaths(node(hIfupNoSource)).ifupdown}`)).code, 1);
        for (const h of hosts) assert.ok((await v6Addresses(h)).some((a) => a.local === node(h).ipv6 && a.scope === "global"));

        await down(lab, run);
        for (const h of hosts) {
            const s = await snapshot(h);
            assert.deepEqual([s.addresses, s.files, s.sysctls], [before.get(h.name)!.addresses, before.get(h.name)!.files, before.get(h.name)!.sysctls], h.name);
        }
        assert.equal(await must(hNm, "cat /run/nm-double/addresses"), "", "the address left the NetworkManager profile");
        assert.equal((await must(hNetplan, "cat /run/netplan-double.log")).split("\n").filter((l) => l === "generate").length, 2);
        for (const [h, f] of [[hNetplan, "/usr/local/bin/netplan"], [hNetplan, "/etc/netplan/50-cloud-init.yaml"], [hNm, "/usr/local/bin/nmcli"], [hIfup, "/usr/local/bin/ifup"], [hIfup, "/etc/network/interfaces"], [hIfupNoSource, "/usr/local/bin/ifup"], [hIfupNoSource, "/etc/network/interfaces"]] as const) {
            await must(h, `rm -f ${f}`);
        }
    });

    it("refuses a hostile interface value in config validation, before any host is touched", async () => {
        const hosts = lab.hosts.slice(0, 3);
        const config = labConfig(lab, hosts, { h2: { interface: "eth0;touch /tmp/pwned" } });
        const ex = labExecutor(lab, { select: () => true });
        await assert.rejects(runProgram({ config, preview: false, execute: ex.execute, stackName: "lab" }), /dualstack:nodes\[1\]\.interface = "eth0;touch \/tmp\/pwned"/);
        assert.equal(ex.timeline.length, 0, "nothing ran on any host");
        for (const h of lab.hosts) assert.equal((await h.inspect("test -e /tmp/pwned")).code, 1);
        assert.equal(fs.existsSync("/tmp/pwned"), machineHadPwned);
    });

    it("prepares 8 hosts in parallel about as fast as 1", async () => {
        const one = lab.hosts.slice(3, 4);
        const runOne = await up(lab, labConfig(lab, one));
        await down(lab, runOne);
        const runAll = await up(lab, labConfig(lab, lab.hosts));
        const span = (t: { start: number; end: number }[]) => Math.max(...t.map((x) => x.end)) - Math.min(...t.map((x) => x.start));
        const s1 = span(runOne.ex.timeline);
        const s8 = span(runAll.ex.timeline);
        // Most steps overlap: every host's facts run at the same time, and no host waits for another.
        const maxOverlap = (t: { start: number; end: number }[]) =>
            Math.max(...t.map((x) => t.filter((y) => y.start <= x.start && x.start < y.end).length));
        const facts8 = runAll.ex.timeline.filter((t) => t.name.endsWith("-facts"));
        console.log(
            `      host preparation on ${os.cpus().length} CPUs: 1 host ${s1} ms on the hosts (${runOne.ms} ms program run); ` +
                `8 hosts ${s8} ms on the hosts (${runAll.ms} ms program run), ${(s8 / s1).toFixed(1)}x for 8x the hosts; ` +
                `up to ${maxOverlap(runAll.ex.timeline)} steps at once`,
        );
        const perHost = new Map<string, number>();
        for (const t of runAll.ex.timeline) perHost.set(t.host, (perHost.get(t.host) ?? 0) + 1);
        assert.deepEqual([...perHost.values()], Array(8).fill(3), "three steps (one SSH round trip each) per host");
        assert.equal(maxOverlap(facts8), 8, "all eight hosts' facts run concurrently");
        // No host waits for another: the whole run lasts about as long as the slowest host's own
        // chain of steps (on a small machine every chain stretches with CPU contention, which is
        // not serialisation). Serial preparation would last the sum of the chains.
        const chains = [...new Set(runAll.ex.timeline.map((t) => t.host))].map((h) => span(runAll.ex.timeline.filter((t) => t.host === h)));
        const sum = chains.reduce((a, b) => a + b, 0);
        console.log(`      slowest host chain ${Math.max(...chains)} ms, sum of chains ${sum} ms`);
        assert.ok(s8 < 1.3 * Math.max(...chains) + 200, `8 hosts took ${s8} ms; slowest single host chain ${Math.max(...chains)} ms`);
        assert.ok(s8 < 8 * s1, `8 hosts took ${s8} ms vs ${s1} ms for one: not parallel`);
        await down(lab, runAll);
        for (const h of lab.hosts) {
            const s = await snapshot(h);
            assert.deepEqual([s.addresses, s.files, s.sysctls], [firstState.get(h.name)!.addresses, firstState.get(h.name)!.files, firstState.get(h.name)!.sysctls], h.name);
        }
    });
    it("preflight refuses a host where Calico would pick another address, before changing it", async () => {
        const h3 = lab.hosts[2];
        const config = labConfig(lab, [h3]);
        // An address inside the node prefix on an interface Calico walks first (reverse kernel order).
        await must(h3, "ip link add ens9 type veth peer name ens9p && ip link set ens9 up && ip -6 addr add fd5e:1ab:7c2d:1::bad/64 dev ens9 nodad");
        const before = await snapshot(h3);
        const ex = labExecutor(lab, { select: isHostPrepStep });
        const err = await hostPrepAlone(lab, config, ex);
        assert.match(
            err.message,
            /^dualstack preflight: host h3 \(10\.213\.0\.13\): calico-node IPv6 autodetection \(cidr=fd5e:1ab:7c2d:1::\/64\) would pick fd5e:1ab:7c2d:1::bad\/64 on ens9, not the planned fd5e:1ab:7c2d:1:[0-9a-f:]+\/64 on eth0/,
        );
        assert.deepEqual(ex.executed, ["host-h3-facts"], "only the read-only facts step ran");
        const after = await snapshot(h3);
        // The facts step only queries the systemctl double (is-active); nothing was enabled or started.
        const changes = (c: string[]) => c.filter((x) => !/^is-(active|enabled)\b/.test(x));
        assert.deepEqual([after.addresses, after.files, after.sysctls, changes(after.systemctlCalls)], [before.addresses, before.files, before.sysctls, changes(before.systemctlCalls)]);
        await must(h3, "ip link del ens9");
    });
});
