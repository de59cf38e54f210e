// test/support/tools.ts: a missing optional tool is pending locally but fails under CI.
import * as assert from "node:assert/strict";
import { pendOrFail, requireToolOrPend, underCi } from "../../support/tools";

describe("optional test tools: pending locally, failing under CI", () => {
    const tool = { commands: ["dualstack-no-such-command"], apt: "no-such-package", purpose: "a probe" };
    const ctx = () => {
        const calls: string[] = [];
        return { calls, ctx: { skip: () => calls.push("skip") } as unknown as Mocha.Context };
    };

    it("CI=true: an Error naming the package to install", () => {
        const { calls, ctx: c } = ctx();
        assert.throws(() => requireToolOrPend(c, tool, { CI: "true" }), /apt-get install -y no-such-package/);
        assert.deepEqual(calls, []);
    });

    it("outside CI: the test is marked pending", () => {
        const { calls, ctx: c } = ctx();
        const write = process.stderr.write;
        let line = "";
        process.stderr.write = ((s: string) => ((line += s), true)) as typeof process.stderr.write;
        try {
            requireToolOrPend(c, tool, {});
        } finally {
            process.stderr.write = write;
        }
        assert.deepEqual(calls, ["skip"]);
        assert.equal(line, "  pending: a probe needs dualstack-no-such-command: apt-get install -y no-such-package\n");
    });

    it("shellcheck and kubeadm give up through the same helper, with their own one-line message", () => {
        const { calls, ctx: c } = ctx();
        assert.throws(() => pendOrFail(c, "shellcheck not installed: apt-get install shellcheck; the scripts were not linted", { CI: "true" }), /^Error: shellcheck not installed: .*CI=true/);
        assert.deepEqual(calls, []);
    });

    it("present commands pass in both modes; CI is read as true or 1", () => {
        const { calls, ctx: c } = ctx();
        requireToolOrPend(c, { ...tool, commands: ["sh"] }, { CI: "true" });
        assert.deepEqual(calls, []);
        assert.deepEqual([underCi({ CI: "true" }), underCi({ CI: "1" }), underCi({ CI: "false" }), underCi({})], [true, true, false, false]);
    });
});
