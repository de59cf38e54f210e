// The lab harness itself: isolation of the test hosts from the machine and from each other,
// real SSH with a pinned host key, the systemctl TEST DOUBLE, prerequisites and teardown.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { spawnSync } from "node:child_process";
import { createLab, FRESH_ABSENT, FRESH_EMPTY, Lab, leftoverNamespaces, requireLabPrerequisites, STATE_DIRS, SYSTEMCTL_DOUBLE_LOG } from "./harness";
import { tempDir } from "../support/tmp";

describe("lab harness", function () {
    this.timeout(60000);
    let lab: Lab;
    const machineForwarding = fs.readFileSync("/proc/sys/net/ipv6/conf/all/forwarding", "utf8");
    // What the machine itself has at the paths a host gets empty, and in /home: unchanged by the lab.
    const machineState = () => [...STATE_DIRS, "/home"].map((d) => `${d}: ${fs.existsSync(d) ? fs.readdirSync(d).sort().join(",") : "(absent)"}`);
    const machineBefore = machineState();

    before(async () => {
        lab = await createLab({ hosts: 2, name: "harness" });
    });

    it("hosts are reached over real SSH as root, with /usr/local/bin first on PATH and their own hostname", async () => {
        const [h1, h2] = lab.hosts;
        const r = await h1.ssh('echo "$PATH"; id -u; hostname; cat');
        assert.equal(r.code, 0, r.stderr);
        const [pathLine, uid, name] = r.stdout.split("\n");
        assert.ok(pathLine.startsWith("/usr/local/bin:"), pathLine);
        assert.deepEqual([uid, name], ["0", "h1"]);
        assert.equal((await h2.ssh("cat", { stdin: "piped" })).stdout, "piped");
        assert.equal((await h2.ssh("exit 7")).code, 7);
    });

    it("a wrong pinned host key is refused, as the provider's FixedHostKey would", async () => {
        const [h1, h2] = lab.hosts;
        await assert.rejects(lab.exec({ host: h1.ipv4, privateKey: lab.privateKey, hostKey: h2.hostKey }, "true"));
        assert.equal((await lab.exec({ host: h1.ipv4, privateKey: lab.privateKey, hostKey: h1.hostKey }, "true")).code, 0);
    });

    it("every directory a step may write starts as on a fresh host, whatever the machine holds there", async () => {
        for (const h of lab.hosts) {
            // /usr/local/bin holds only the systemctl double the harness puts there.
            const script = [
                ...FRESH_ABSENT.map((d) => `if [ -e ${d} ]; then echo "${d} exists"; fi`),
                ...FRESH_EMPTY.map((d) => `n=$(ls -A ${d} | grep -vx systemctl | wc -l); [ "$n" = 0 ] || echo "${d} holds $n entries"`),
            ].join("\n");
            const r = await h.inspect(script);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout, "", h.name);
        }
        await lab.hosts[0].writeFile("/etc/rancher/k3s/probe", "x\n");
        assert.equal((await lab.hosts[1].inspect("test -e /etc/rancher/k3s/probe")).code, 1, "one host's write is not seen by another");
        assert.equal(fs.existsSync("/etc/rancher/k3s/probe"), false);
    });

    it("a fresh host has only a link-local IPv6 address and no IPv6 default route", async () => {
        for (const h of lab.hosts) {
            const addrs = JSON.parse((await h.inspect("ip -j -6 addr show dev eth0")).stdout)[0].addr_info;
            assert.deepEqual(addrs.map((a: any) => a.scope), ["link"]);
            assert.equal((await h.inspect("ip -6 route show default")).stdout, "");
        }
    });

    it("files and sysctls written in a host stay in that host", async () => {
        const [h1, h2] = lab.hosts;
        await h1.writeFile("/etc/sysctl.d/99-lab-probe.conf", "net.ipv6.conf.all.forwarding = 1\n");
        assert.equal((await h1.ssh("sysctl -q -p /etc/sysctl.d/99-lab-probe.conf && cat /proc/sys/net/ipv6/conf/all/forwarding")).stdout, "1\n");
        assert.equal((await h2.inspect("test -e /etc/sysctl.d/99-lab-probe.conf")).code, 1);
        assert.equal((await h2.inspect("cat /proc/sys/net/ipv6/conf/all/forwarding")).stdout, machineForwarding);
        assert.equal(fs.existsSync("/etc/sysctl.d/99-lab-probe.conf"), false);
        assert.equal(fs.readFileSync("/proc/sys/net/ipv6/conf/all/forwarding", "utf8"), machineForwarding);
    });

    it("systemctl is a recording TEST DOUBLE that runs a unit's ExecStart on start", async () => {
        const [h1] = lab.hosts;
        await h1.writeFile("/etc/systemd/system/probe.service", "[Service]\nType=oneshot\nExecStart=touch /run/probe-started\n");
        const r = await h1.ssh("systemctl is-enabled probe.service; systemctl enable --now probe.service && systemctl is-active probe && systemctl is-enabled --quiet probe.service && test -e /run/probe-started && systemctl disable --now probe.service; systemctl is-active probe.service");
        assert.equal(r.stdout, "disabled\nactive\ninactive\n");
        const log = (await h1.inspect(`cat ${SYSTEMCTL_DOUBLE_LOG}`)).stdout;
        assert.ok(log.includes("enable --now probe.service\n") && log.includes("disable --now probe.service\n"), log);
        assert.match((await h1.inspect("head -n 3 /usr/local/bin/systemctl")).stdout, /TEST DOUBLE of systemctl/);
    });

    it("without the needed commands the lab fails saying what to install (it does not skip)", () => {
        const saved = process.env.PATH;
        process.env.PATH = tempDir("empty-path");
        try {
            assert.throws(() => requireLabPrerequisites(), /install: apt-get install -y .*iproute2.*iputils-ping/);
        } finally {
            process.env.PATH = saved;
        }
    });

    it("destroy leaves no namespace, sshd or lab directory behind", async () => {
        const dirs = () => fs.readdirSync("/var/tmp").filter((d) => d.startsWith(`dslab-${process.pid}-`));
        assert.ok(dirs().length >= 1);
        const pids = lab.hosts.flatMap((h) => spawnSync("ip", ["netns", "pids", h.netns], { encoding: "utf8" }).stdout.split(/\s+/).filter(Boolean));
        assert.ok(pids.length >= 2, "each host runs its sshd");
        await lab.destroy();
        assert.deepEqual(leftoverNamespaces(), []);
        assert.deepEqual(dirs(), []);
        for (const p of pids) assert.equal(fs.existsSync(`/proc/${p}`), false, `process ${p} survived`);
        assert.deepEqual(machineState(), machineBefore, "the machine's own directories changed");
    });
});
