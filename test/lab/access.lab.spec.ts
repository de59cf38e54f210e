// How the program reaches hosts, on real SSH test hosts: a host reached only at an IPv6 literal,
// a non-root user with password-less sudo, and one whose sudo wants a password (refused with a
// clear error naming the host and `sudo -n`, nothing changed). HostPrep's registered commands run
// for real through the lab executor, exactly as in hostprep.lab.spec.ts.
import * as assert from "node:assert/strict";
import { familyOfAddress } from "../../components/net";
import { loadPlan } from "../../components/plan";
import { rawConfig } from "../support/configs";
import { runProgram } from "../support/program";
import { destroyRegistered, labExecutor, underComponent, unwrapSecrets } from "./executor";
import { createLab, Lab, LabHost, leftoverNamespaces, requireLabPrerequisites, STATE_DIRS, SYSTEMCTL_DOUBLE_LOG } from "./harness";

const PREFIX = "fd5e:1ab:7c2d:1::/64";
const isHostPrepStep = underComponent("dualstack:index:HostPrep");

/** A one-node stack for host `h`, reached at `host` as `user`. */
function stack(lab: Lab, h: LabHost, host: string, user: string): Record<string, string> {
    return rawConfig({
        distribution: "k3s",
        version: "v1.33.5+k3s1",
        ssh: { user, privateKey: lab.privateKey },
        nodes: [{ name: h.name, host, ipv4: h.ipv4, role: "control-plane", interface: h.iface, hostKey: h.hostKey }],
        network: { nodeIpv6Prefix: PREFIX, podCidrs: ["10.42.0.0/16", "fd5e:1ab:7c2d:4200::/56"], serviceCidrs: ["10.43.0.0/16", "fd5e:1ab:7c2d:43::/112"] },
        checks: { enabled: false },
    });
}

async function up(lab: Lab, config: Record<string, string>) {
    const ex = labExecutor(lab, { select: (r) => isHostPrepStep(r) || /^host-h\d+-(facts|ipv6|sysctl)$/.test(r.name) });
    const result = await runProgram({ config, preview: false, execute: ex.execute, stackName: "access" });
    return { result, ex };
}

/**
 * What destroy restores (addresses and files in the state directories), and with `all` also what
 * it leaves as it is on purpose (runtime sysctls) and the systemctl double's call log: a refused
 * run must not change even those.
 */
async function snapshot(h: LabHost, all = false): Promise<string> {
    const r = await h.inspect(
        [
            "ip -6 -br addr show dev eth0",
            `find ${STATE_DIRS.join(" ")} 2>/dev/null | sort`,
            ...(all ? ["sysctl -n net.ipv6.conf.all.forwarding net.ipv6.conf.eth0.accept_ra", `cat ${SYSTEMCTL_DOUBLE_LOG} 2>/dev/null || true`] : []),
        ].join("; "),
    );
    return r.stdout;
}

async function plannedAddressOn(h: LabHost, config: Record<string, string>): Promise<boolean> {
    const node = loadPlan((k) => config[k], "access", Object.keys(config)).plan.nodes[0];
    return (await h.inspect("ip -6 -br addr show dev eth0")).stdout.includes(node.ipv6Cidr);
}

describe("lab: reaching hosts (IPv6 literal, sudo users)", function () {
    this.timeout(120000);
    let lab: Lab;

    before(async () => {
        requireLabPrerequisites();
        lab = await createLab({
            hosts: 3,
            name: "access",
            hostOptions: {
                h1: { sshOverIPv6: true },
                h2: { users: [{ name: "deploy", sudo: "nopasswd" }] },
                h3: { users: [{ name: "askpass", sudo: "password" }] },
            },
        });
    });

    after(async () => {
        if (lab) await lab.destroy();
        assert.deepEqual(leftoverNamespaces(), []);
    });

    it("h1's sshd listens only at its IPv6 address", async () => {
        const h1 = lab.hosts[0];
        assert.equal(familyOfAddress(h1.sshHost), "IPv6");
        assert.equal((await lab.exec({ host: h1.sshHost, privateKey: lab.privateKey, hostKey: h1.hostKey }, "hostname")).stdout, "h1\n");
        await assert.rejects(lab.exec({ host: h1.ipv4, privateKey: lab.privateKey, hostKey: h1.hostKey }, "true"), "reachable over IPv4");
    });

    it("prepares and restores a host whose SSH address is an IPv6 literal", async () => {
        const h1 = lab.hosts[0];
        const before = await snapshot(h1);
        const config = stack(lab, h1, h1.sshHost, "root");
        const run = await up(lab, config);
        assert.ok(run.ex.executed.length >= 3, `executed ${run.ex.executed.join(", ")}`);
        for (const r of run.result.resources.filter((x) => run.ex.executed.includes(x.name))) {
            assert.equal(unwrapSecrets(r.inputs.connection).host, h1.sshHost, `${r.name} connects to the IPv6 literal, without brackets`);
        }
        assert.ok(await plannedAddressOn(h1, config), "the planned address is on eth0");
        await destroyRegistered(run.result, lab, { only: run.ex.executed });
        assert.equal(await snapshot(h1), before);
    });

    it("a non-root user with password-less sudo prepares the host through sudo -n", async () => {
        const h2 = lab.hosts[1];
        assert.equal((await lab.exec({ host: h2.ipv4, user: "deploy", privateKey: lab.privateKey, hostKey: h2.hostKey }, "id -un")).stdout, "deploy\n");
        const before = await snapshot(h2);
        const config = stack(lab, h2, h2.ipv4, "deploy");
        const run = await up(lab, config);
        const executed = run.result.resources.filter((x) => run.ex.executed.includes(x.name));
        assert.ok(executed.length >= 3);
        for (const r of executed) {
            assert.equal(unwrapSecrets(r.inputs.connection).user, "deploy");
            assert.match(unwrapSecrets(r.inputs.create), /^if ! sudo -n true /, `${r.name} runs through sudo -n`);
        }
        assert.ok(await plannedAddressOn(h2, config), "root-only changes were made through sudo");
        await destroyRegistered(run.result, lab, { only: run.ex.executed });
        assert.equal(await snapshot(h2), before);
    });

    it("a user whose sudo wants a password is refused, naming the host and sudo -n, with nothing changed", async () => {
        const h3 = lab.hosts[2];
        const before = await snapshot(h3, true);
        const config = stack(lab, h3, h3.ipv4, "askpass");
        // Registrations of a refused run never settle, by design; keep Pulumi's exit-time leak
        // check (which fails the mocha run) to the promises of the other runs, as hostprep.lab does.
        const store = require("@pulumi/pulumi/runtime/state").getStore();
        const known = new Set(store.leakCandidates);
        try {
            await assert.rejects(up(lab, config), (e: Error) => {
                assert.match(e.message, /^host-h3-\S+ on h3: /, "the failed step and its host");
                assert.match(e.message, /dualstack: user askpass cannot run sudo without a password on h3 \(sudo -n true failed; nothing was changed\); allow NOPASSWD sudo for it or connect as root/);
                return true;
            });
        } finally {
            for (const p of [...store.leakCandidates]) if (!known.has(p)) store.leakCandidates.delete(p);
        }
        assert.equal(await snapshot(h3, true), before, "nothing changed on h3");
    });
});
