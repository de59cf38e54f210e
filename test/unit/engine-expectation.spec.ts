// The one expectation of what the engine test's stacks register (test/support/engine-stacks.ts):
// here under the mock runtime, in test/engine/engine.spec.ts through the real engine's preview.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ENGINE_STACKS, EngineStackName, engineStackConfig, expectedResources, fixtureFile, labShapedHosts, resourceLines } from "../support/engine-stacks";
import { runProgram } from "../support/program";
import { tempDir } from "../support/tmp";

describe("engine test stacks: the mock runtime registers exactly the shared expectation", () => {
    const keyDir = tempDir("dualstack-engine-exp");
    const keyPath = path.join(keyDir, "id_test");
    fs.writeFileSync(keyPath, "TEST-ONLY-NOT-A-REAL-KEY\n", { mode: 0o600 });
    after(() => fs.rmSync(keyDir, { recursive: true, force: true }));

    for (const [stack, shape] of Object.entries(ENGINE_STACKS) as [EngineStackName, (typeof ENGINE_STACKS)[EngineStackName]][]) {
        it(`${stack}: first preview registers test/fixtures/engine/${stack}.resources.txt`, async () => {
            const config = engineStackConfig({ distribution: shape.distribution, hosts: labShapedHosts(shape.hosts), servers: shape.servers, privateKeyPath: keyPath });
            const result = await runProgram({ config, preview: true, stackName: stack });
            const lines = resourceLines(result.resources);
            if (process.env.UPDATE_ENGINE_FIXTURES === "1") fs.writeFileSync(fixtureFile(stack), lines.join("\n") + "\n");
            assert.deepEqual(lines, expectedResources(stack));
        });
    }
});
