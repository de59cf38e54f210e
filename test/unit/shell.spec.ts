// shell.ts `q`: literal words (IPv6 addresses among them) stay bare, everything else goes through
// shell-quote, and sh reads every quoted value back unchanged.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fc from "fast-check";
import { q } from "../../components/shell";

describe("shell quoting (q)", () => {
    it("leaves IPv6 addresses, CIDRs, paths and versions bare: no needless \\: escapes", () => {
        for (const v of ["fd45:a71:55a6:1::afea:3220", "fd45:a71:55a6:1::/64", "/etc/rancher/k3s/config.yaml", "v1.33.5+k3s1", "10.42.0.0/16,fd00:42::/56", "user@host"]) {
            assert.equal(q(v), v);
        }
    });

    it("still quotes anything sh would interpret", () => {
        assert.equal(q("eth0;touch /tmp/pwned"), "'eth0;touch /tmp/pwned'");
        assert.equal(q(""), "''");
        assert.notEqual(q("~/x"), "~/x");
        assert.notEqual(q("a=b"), "a=b");
        assert.notEqual(q("$(id)"), "$(id)");
    });

    it("sh reads every quoted value back unchanged (property)", () => {
        const values = fc.sample(fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("fd00::1", "a b", "it's", "\\:", "-n", "*", "!x", "a\nb")), 300);
        // One sh run: print each value NUL-terminated.
        const script = values.map((v) => `printf '%s\\0' ${q(v)}`).join("\n");
        const r = spawnSync("sh", ["-c", script], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.stdout.split("\0").slice(0, -1), values);
    });
});
