import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { connectionFor } from "../../components/connection";
import { hostPort, httpsUrl } from "../../components/net";
import { q, remoteCommand, script } from "../../components/shell";
import { execFileSync } from "node:child_process";
import { baseConfig, planOf } from "../support/configs";

describe("SSH connections", () => {
    it("copies only known fields, honours hostKey, IPv6 literal hosts, dial settings and a jump host", () => {
        const plan = planOf(
            baseConfig({
                ssh: { user: "ubuntu", port: 2222, privateKeyPath: "/k", dialErrorLimit: 50, perDialTimeout: 20, proxy: { host: "jump.example", user: "ops", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDummyDummyDummyDummyDummyDummyDummyDummyDum" } },
                nodes: [{ name: "cp1", host: "FD45:a71:55a6:1::0099", ipv4: "192.168.121.135", role: "control-plane", interface: "eth0", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostHostHostHostHostHostHostHostHostHostHost" }],
            }),
        );
        const key = pulumi.secret("KEY");
        const c = connectionFor(plan, plan.nodes[0], { privateKey: key });
        assert.equal(c.host, "fd45:a71:55a6:1::99");
        assert.equal(c.port, 2222);
        assert.equal(c.user, "ubuntu");
        assert.equal(c.dialErrorLimit, 50);
        assert.equal(c.perDialTimeout, 20);
        assert.equal(c.privateKey, key);
        assert.match(String(c.hostKey), /^ssh-ed25519 /);
        const proxy = c.proxy as unknown as Record<string, unknown>;
        assert.equal(proxy.host, "jump.example");
        assert.equal(proxy.user, "ops");
        assert.equal(proxy.privateKey, key, "the jump host uses the same key unless it has its own");
        assert.deepEqual(Object.keys(c).sort(), ["dialErrorLimit", "host", "hostKey", "perDialTimeout", "port", "privateKey", "proxy", "user"]);
        assert.ok(plan.ssh.sudo);
    });
});

describe("addresses in host:port and URLs", () => {
    const cases: [string, number, string][] = [
        ["192.168.121.135", 6443, "192.168.121.135:6443"],
        ["fd45:a71:55a6:1::10", 6443, "[fd45:a71:55a6:1::10]:6443"],
        ["FD45:0a71:55a6:0001:0:0:0:10", 443, "[fd45:a71:55a6:1::10]:443"],
        ["cp1.lab.example", 22, "cp1.lab.example:22"],
    ];
    for (const [host, port, want] of cases) {
        it(`${host} -> ${want}`, () => {
            assert.equal(hostPort(host, port), want);
            assert.equal(httpsUrl(host, port), `https://${want}`);
        });
    }
});

describe("shell text", () => {
    const hostile = ["eth0;touch /tmp/pwned", "$(reboot)", "`id`", "a'b\"c", "x\ny", "", "--flag", "fd45::1/64"];
    for (const v of hostile) {
        it(`q() keeps ${JSON.stringify(v)} one literal argument`, () => {
            const out = execFileSync("sh", ["-c", `printf '%s' ${q(v)}`], { encoding: "utf8" });
            assert.equal(out, v);
        });
    }

    it("remoteCommand runs the script through sh -c, and through sudo -n with a clear error for non-root users", () => {
        const body = script("echo 'hi there' \"$HOME\"");
        assert.ok(body.startsWith("set -eu\n"));
        const root = remoteCommand(body, false);
        assert.equal(execFileSync("sh", ["-c", root], { encoding: "utf8", env: { ...process.env, HOME: "/h" } }), "hi there /h\n");
        const sudo = remoteCommand(body, true);
        assert.match(sudo, /sudo -n true/);
        assert.match(sudo, /cannot run sudo without a password/);
        assert.match(sudo, /sudo -n sh -c /);
    });
});
