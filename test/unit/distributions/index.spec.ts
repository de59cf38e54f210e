// The distribution profiles: each one complete and self-consistent, since the plan rules, the
// components and the check read them instead of testing the distribution's name.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { configSchema } from "../../../components/config";
import { PROFILES, profileOf } from "../../../components/distributions";
import { CLUSTER_UNITS } from "../../../components/hostprep/scripts";
import { baseConfig, planOf } from "../../support/configs";

describe("distributions: profiles", () => {
    it("one profile per distribution the config schema accepts, under its own name", () => {
        const names = (configSchema.shape.distribution as unknown as { options: string[] }).options;
        assert.deepEqual(Object.keys(PROFILES).sort(), [...names].sort());
        for (const [name, p] of Object.entries(PROFILES)) assert.equal(p.name, name);
    });

    for (const p of Object.values(PROFILES)) {
        it(`${p.name}: the example tag (and the minimum, if any) matches the tag pattern; a plan with it is valid`, () => {
            assert.match(p.exampleTag, p.tag);
            if (p.minimum) assert.match(p.minimum.tag, p.tag);
            const plan = planOf(baseConfig({ distribution: p.name, version: p.exampleTag }));
            assert.equal(profileOf(plan), p);
            assert.equal(plan.traefik.loadBalancer, p.defaultLoadBalancer);
        });
    }

    it("host preparation orders its units before every distribution's service units", () => {
        const units = Object.values(PROFILES).flatMap((p) => [p.serviceUnits["control-plane"], p.serviceUnits.worker]);
        assert.deepEqual(CLUSTER_UNITS, [...new Set(units.map((u) => `${u}.service`))]);
        assert.deepEqual(CLUSTER_UNITS, ["k3s.service", "k3s-agent.service", "k0scontroller.service", "k0sworker.service", "kubelet.service"]);
    });

    it("no code outside components/distributions and the distribution folders branches on the distribution's name", () => {
        const root = path.resolve(__dirname, "../../../components");
        const own = new Set(["distributions", ...Object.keys(PROFILES)]);
        const offenders: string[] = [];
        const walk = (dir: string): void => {
            for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
                const full = path.join(dir, e.name);
                if (e.isDirectory()) {
                    if (!(dir === root && own.has(e.name))) walk(full);
                } else if (e.name.endsWith(".ts")) {
                    fs.readFileSync(full, "utf8")
                        .split("\n")
                        .forEach((line, i) => {
                            if (/distribution\s*[!=]==/.test(line)) offenders.push(`${path.relative(root, full)}:${i + 1}: ${line.trim()}`);
                        });
                }
            }
        };
        walk(root);
        assert.deepEqual(offenders, [], "read a profile field (components/distributions/profile.ts) instead");
    });
});
