import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { configSchema } from "../../components/config";
import { ConfigError } from "../../components/problems";
import { normalizeKey, secretsFor } from "../../components/stack";
import { baseConfig, planOf } from "../support/configs";
import { tempDir } from "../support/tmp";

describe("stack secrets and local files", () => {
    it("normalises a key's trailing whitespace to one newline (key file and config secret agree)", () => {
        assert.equal(normalizeKey("KEY"), "KEY\n");
        assert.equal(normalizeKey("KEY\n\n  "), "KEY\n");
    });

    it("refuses a missing key file and an incomplete air-gap folder, naming each", () => {
        const dir = tempDir("dualstack-airgap");
        fs.writeFileSync(path.join(dir, "install.sh"), "#!/bin/sh\n");
        const input = baseConfig({ ssh: { privateKeyPath: path.join(dir, "missing_key") }, install: { source: "airgap", airgapDir: dir } });
        const plan = planOf(input);
        const cfg = configSchema.parse(input);
        assert.throws(
            () => secretsFor(plan, cfg),
            (e: unknown) =>
                e instanceof ConfigError &&
                e.problems.some((p) => p.key === "dualstack:ssh.privateKeyPath" && /ENOENT/.test(p.rule)) &&
                e.problems.some((p) => p.key === "dualstack:install.airgapDir" && p.rule === "has no k3s") &&
                !e.problems.some((p) => p.rule === "has no install.sh"),
        );
    });

    it("reports a wrong packaged chart in the same list as the other local-file problems, before any host is touched", () => {
        const dir = tempDir("dualstack-charts");
        const input = baseConfig({
            ssh: { privateKeyPath: path.join(dir, "missing_key") },
            charts: { traefik: { file: path.join(dir, "traefik-41.3.0.tgz") }, metallb: { repo: "oci://registry.example.internal/charts" } },
        });
        assert.throws(
            () => secretsFor(planOf(input), configSchema.parse(input)),
            (e: unknown) =>
                e instanceof ConfigError &&
                e.problems.some((p) => p.key === "dualstack:ssh.privateKeyPath") &&
                e.problems.some((p) => p.key === "dualstack:charts.traefik.file" && /ENOENT/.test(p.rule) && /helm pull traefik --version 41\.3\.0/.test(p.fix)) &&
                !e.problems.some((p) => p.key.startsWith("dualstack:charts.metallb")),
        );
    });
});
