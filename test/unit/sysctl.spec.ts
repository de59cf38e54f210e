// The record/restore lines of a sysctl drop-in, run with sh against a TEST DOUBLE of /proc/sys (a
// temporary folder with the same layout), so their behaviour is checked without touching the kernel.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { hostPrepSteps, hostSysctls, SYSCTL_STATE, sysctlDropIn } from "../../components/hostprep/scripts";
import { prepCreateScript, prepDeleteScript, SYSCTL_STATE as KUBEADM_SYSCTL_STATE, SYSCTLS } from "../../components/kubeadm/scripts";
import { procSysPath, recordSysctlsLines, restoreSysctlsLines, type Sysctl } from "../../components/sysctl";
import { script } from "../../components/shell";
import { baseConfig, planOf } from "../support/configs";
import { tempDir } from "../support/tmp";

const KEYS: Sysctl[] = [
    ["net.ipv4.ip_forward", "1"],
    ["net.ipv6.conf.eth0/100.accept_ra", "2"],
    ["net.bridge.bridge-nf-call-iptables", "1"],
];

describe("sysctl: runtime values recorded before a drop-in, restored on delete", () => {
    let dir: string;
    let proc: string;
    let state: string;
    const read = (key: string) => fs.readFileSync(procSysPath(key, proc), "utf8").trim();
    const write = (key: string, v: string) => fs.writeFileSync(procSysPath(key, proc), `${v}\n`);
    const run = (lines: string[]) => {
        const r = spawnSync("sh", ["-c", script(lines)], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
    };
    /** What `sysctl -p` of the drop-in does to the double. */
    const apply = () => KEYS.filter(([k]) => fs.existsSync(procSysPath(k, proc))).forEach(([k, v]) => write(k, v));

    beforeEach(() => {
        dir = tempDir("dualstack-sysctl");
        proc = path.join(dir, "proc-sys");
        state = path.join(dir, "state", "sysctl.state");
        // A fresh host: no forwarding, accept_ra 1 on a VLAN interface, br_netfilter not loaded.
        fs.mkdirSync(path.join(proc, "net/ipv4"), { recursive: true });
        fs.mkdirSync(path.join(proc, "net/ipv6/conf/eth0.100"), { recursive: true });
        write("net.ipv4.ip_forward", "0");
        write("net.ipv6.conf.eth0/100.accept_ra", "1");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("sysctl.d keys map to /proc/sys paths (a `/` is a `.` inside one component, sysctl.d(5))", () => {
        assert.equal(procSysPath("net.ipv6.conf.eth0/100.accept_ra"), "/proc/sys/net/ipv6/conf/eth0.100/accept_ra");
        assert.equal(procSysPath("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
    });

    it("create records the values once (a second create keeps the first record), delete writes them back and removes the record", () => {
        run(recordSysctlsLines(state, KEYS, proc));
        apply();
        const record = fs.readFileSync(state, "utf8");
        assert.equal(record, "net.ipv4.ip_forward=0\nnet.ipv6.conf.eth0/100.accept_ra=1\n", "a key the kernel lacks is not recorded");
        assert.equal((fs.statSync(state).mode & 0o777).toString(8), "600");
        run(recordSysctlsLines(state, KEYS, proc));
        assert.equal(fs.readFileSync(state, "utf8"), record, "the second create saw its own values and kept the record");
        run(restoreSysctlsLines(state, KEYS, proc));
        assert.equal(read("net.ipv4.ip_forward"), "0");
        assert.equal(read("net.ipv6.conf.eth0/100.accept_ra"), "1");
        assert.ok(!fs.existsSync(state));
        run(restoreSysctlsLines(state, KEYS, proc));
        assert.equal(read("net.ipv4.ip_forward"), "0", "a second delete changes nothing");
    });

    it("a value someone changed since create stays theirs", () => {
        run(recordSysctlsLines(state, KEYS, proc));
        apply();
        write("net.ipv6.conf.eth0/100.accept_ra", "0");
        run(restoreSysctlsLines(state, KEYS, proc));
        assert.equal(read("net.ipv6.conf.eth0/100.accept_ra"), "0");
        assert.equal(read("net.ipv4.ip_forward"), "0");
    });

    it("host preparation records every key of its drop-in before applying it and restores each on delete", () => {
        const node = planOf(baseConfig()).nodes[0];
        const [, , sysctl] = hostPrepSteps(node);
        for (const [k, v] of hostSysctls(node)) assert.ok(sysctlDropIn(node).includes(`${k} = ${v}`));
        assert.ok(sysctl.create.indexOf(SYSCTL_STATE) < sysctl.create.indexOf("sysctl -q -p"), "recorded before applied");
        for (const [k] of hostSysctls(node)) {
            assert.ok(sysctl.create.includes(procSysPath(k)), `create records ${k}`);
            assert.ok(sysctl.delete!.includes(procSysPath(k)), `delete restores ${k}`);
        }
    });

    it("kubeadm's prep records its sysctls after loading br_netfilter and before applying them; its delete restores them", () => {
        const plan = planOf(baseConfig({ distribution: "kubeadm", version: "v1.36.3" }));
        const create = prepCreateScript(plan, plan.nodes[0]);
        const recorded = create.indexOf(KUBEADM_SYSCTL_STATE);
        assert.ok(create.indexOf("modprobe") < recorded && recorded < create.indexOf("sysctl -q -p"));
        const del = prepDeleteScript();
        for (const [k] of SYSCTLS) assert.ok(create.includes(procSysPath(k)) && del.includes(procSysPath(k)), k);
    });
});
