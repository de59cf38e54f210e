// The tests' temporary directories (test/support/tmp.ts) are gone when the test process ends, however
// it ends, and no test makes one any other way (runs once left thousands in /tmp).
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "../support/tmp";

const ROOT = path.resolve(__dirname, "..", "..");

describe("test temporary directories", function () {
    this.timeout(60000);

    for (const [how, ending] of [
        ["a normal exit", ""],
        ["an uncaught error", "throw new Error('a failing test');"],
        ["process.exit (mocha's exit: true)", "process.exit(3);"],
        ["SIGTERM", "process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 10000);"],
    ]) {
        it(`are removed after ${how}`, () => {
            const parent = tempDir("dualstack-tmp-spec");
            const program = [
                `const { tempDir } = require(${JSON.stringify(path.join(ROOT, "test", "support", "tmp"))});`,
                `const fs = require("node:fs");`,
                `for (const p of ["a", "b"]) fs.writeFileSync(require("node:path").join(tempDir(p, ${JSON.stringify(parent)}), "f"), "x");`,
                ending,
            ].join("\n");
            const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", program], { cwd: ROOT, encoding: "utf8" });
            assert.ok(r.status !== null || r.signal === "SIGTERM", r.stderr);
            assert.deepEqual(fs.readdirSync(parent), [], `left behind after ${how}: ${r.stderr}`);
        });
    }

    it("every temporary directory under test/ comes from tempDir (the lab harness's own is removed by destroy())", () => {
        const offenders: string[] = [];
        const walk = (dir: string): void => {
            for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
                const f = path.join(dir, e.name);
                if (e.isDirectory()) walk(f);
                else if (f.endsWith(".ts") && !["test/support/tmp.ts", "test/unit/tmp.spec.ts", "test/lab/harness.ts"].includes(path.relative(ROOT, f))) {
                    if (/mkdtemp|tmpdir\(\)/.test(fs.readFileSync(f, "utf8"))) offenders.push(path.relative(ROOT, f));
                }
            }
        };
        walk(path.join(ROOT, "test"));
        assert.deepEqual(offenders, [], "use tempDir from test/support/tmp.ts, which removes the directory when the run ends");
    });
});
