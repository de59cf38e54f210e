// The check list: one file per check, named by its id; the report's order and titles come from it.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CHECK_TITLES, CHECKS, checksFor } from "../../../../components/check/checks";
import { judge } from "../../../../components/check/judge";
import { ROOT } from "../../../support/program";
import { healthyDocument } from "../../../fixtures/check/double";
import { baseConfig, planOf } from "../../../support/configs";

describe("check/checks: the list", () => {
    it("each check is checks/<id>.ts, exported from there, ids unique", () => {
        const dir = path.join(ROOT, "components", "check", "checks");
        const files = fs.readdirSync(dir).filter((f) => !["index.ts", "check.ts"].includes(f)).map((f) => f.replace(/\.ts$/, ""));
        assert.deepEqual([...files].sort(), CHECKS.map((c) => c.id).sort());
        for (const c of CHECKS) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const mod = require(path.join(dir, c.id)) as Record<string, unknown>;
            assert.ok(Object.values(mod).includes(c), `${c.id}.ts exports the ${c.id} check`);
        }
    });

    it("the report lists the checks that apply, in list order, with their titles", () => {
        const plan = planOf(baseConfig());
        const report = judge(healthyDocument(plan), plan, "k3s kubectl");
        assert.deepEqual(report.checks.map((c) => [c.id, c.title]), checksFor(plan).map((c) => [c.id, c.title]));
        assert.deepEqual(checksFor(plan).map((c) => c.id), CHECKS.filter((c) => c.id !== "bgp").map((c) => c.id));
        assert.deepEqual(Object.keys(CHECK_TITLES), CHECKS.map((c) => c.id));
    });
});
