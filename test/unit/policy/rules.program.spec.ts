// The program's own registrations, for both shipped stacks, pass every policy rule: the same check
// `pulumi preview --policy-pack policy` makes, run here under Pulumi's mock runtime (update mode, so
// every input is known, as the policy pack sees them during `pulumi up`).
import * as assert from "node:assert/strict";
import { runProgram } from "../../support/program";
import { checkAll } from "../../../policy/rules";

describe("policy rules over the program's registrations", function () {
    this.timeout(120000);
    for (const stack of ["lab-k3s", "lab-k0s"]) {
        it(`${stack}: no resource violates a rule`, async () => {
            const result = await runProgram({ stack, preview: false });
            assert.ok(result.resources.length > 0);
            const violations = result.resources.flatMap((r) =>
                checkAll({
                    type: r.type,
                    name: r.name,
                    props: r.inputs,
                    opts: { additionalSecretOutputs: r.additionalSecretOutputs, deleteBeforeReplace: r.deleteBeforeReplace },
                }).map((v) => `${r.name}: ${v}`),
            );
            assert.deepEqual(violations, []);
        });
    }
});
