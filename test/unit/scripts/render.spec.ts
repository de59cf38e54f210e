import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import { loadPlan } from "../../../components/plan";
import { ConfigError } from "../../../components/problems";
import { renderArtifacts } from "../../../components/render";
import { q, remoteCommand } from "../../../components/shell";
import { rawConfigFromStackFile, renderStack } from "../../../scripts/render";
import { ROOT, runProgram, stackConfig } from "../../support/program";

function planFor(stack: string) {
    const raw = stackConfig(stack);
    return loadPlan((k) => raw[k], stack, Object.keys(raw)).plan;
}

/** Every string and object anywhere in the registered inputs. */
function leaves(v: unknown, out: unknown[] = []): unknown[] {
    out.push(v);
    if (v !== null && typeof v === "object") for (const x of Object.values(v as object)) leaves(x, out);
    return out;
}

describe("render command", () => {
    for (const stack of ["lab-k3s", "lab-k0s"]) {
        it(`${stack}: writes the plan and every artifact, and prints both addresses of every node`, () => {
            const out = fs.mkdtempSync(path.join(os.tmpdir(), "dualstack-render-"));
            const { summary, files } = renderStack(ROOT, stack, out);
            const plan = planFor(stack);
            for (const n of plan.nodes) {
                assert.ok(summary.includes(n.ipv4) && summary.includes(n.ipv6Cidr), `summary lacks ${n.name}'s addresses`);
            }
            assert.ok(files.includes("plan.json"));
            for (const a of renderArtifacts(plan)) {
                assert.equal(fs.readFileSync(path.join(out, a.path), "utf8"), a.content);
            }
            assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, "plan.json"), "utf8")).nodes, JSON.parse(JSON.stringify(plan.nodes)));
        });

        it(`${stack}: every rendered artifact is exactly what a registered resource carries`, async () => {
            const plan = planFor(stack);
            const result = await runProgram({ stack, preview: false });
            const all = result.resources.flatMap((r) => leaves(r.inputs));
            const strings = all.filter((x): x is string => typeof x === "string");
            const rendered = renderArtifacts(plan);
            assert.ok(rendered.length > 10, `only ${rendered.length} artifacts`);
            // Scripts that are registered verbatim; host files they write count as carried when the
            // script holds their quoted text.
            const registeredScripts = rendered.filter((a) => a.path.endsWith(".sh") && strings.includes(remoteCommand(a.content, plan.ssh.sudo)));
            for (const a of rendered) {
                const asCommand = remoteCommand(a.content, plan.ssh.sudo);
                const found =
                    strings.includes(a.content) ||
                    strings.includes(asCommand) ||
                    registeredScripts.some((sc) => sc.content.includes(q(a.content))) ||
                    (/\.ya?ml$/.test(a.path) && all.some((x) => x !== null && typeof x === "object" && isDeepStrictEqual(x, parse(a.content)))) ||
                    (/\.json$/.test(a.path) && all.some((x) => x !== null && typeof x === "object" && isDeepStrictEqual(x, JSON.parse(a.content))));
                assert.ok(found, `${a.path} is rendered but no registered resource carries it`);
            }
        });
    }

    for (const stack of ["lab-k3s", "lab-k0s"]) {
        it(`${stack}: reordering the workers in dualstack:nodes renders byte-identical artifacts`, () => {
            const raw = stackConfig(stack);
            const nodes = JSON.parse(raw["dualstack:nodes"]) as { role: string }[];
            const reordered = [...nodes.filter((n) => n.role === "control-plane"), ...nodes.filter((n) => n.role === "worker").reverse()];
            const raw2: Record<string, string> = { ...raw, "dualstack:nodes": JSON.stringify(reordered) };
            const a = renderArtifacts(loadPlan((k) => raw[k], stack).plan);
            const b = renderArtifacts(loadPlan((k) => raw2[k], stack).plan);
            const byPath = (xs: typeof a) => Object.fromEntries(xs.map((x) => [x.path, x.content]));
            assert.deepEqual(byPath(b), byPath(a));
        });
    }

    it("reads secure values as placeholders without decrypting them", () => {
        const raw = rawConfigFromStackFile("config:\n  dualstack:token:\n    secure: AAABAxyz\n  dualstack:distribution: k3s\n");
        assert.equal(raw["dualstack:token"], "(secret)");
        assert.equal(raw["dualstack:distribution"], "k3s");
    });

    it("exits non-zero with the same messages as pulumi up on a bad stack", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dualstack-bad-"));
        fs.mkdirSync(path.join(dir, "stacks"));
        const text = fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.lab-k3s.yaml"), "utf8").replace("interface: eth0", "interface: eth0;touch /tmp/pwned");
        fs.writeFileSync(path.join(dir, "stacks", "Pulumi.bad.yaml"), text);
        const raw = rawConfigFromStackFile(text);
        let expected = "";
        try {
            loadPlan((k) => raw[k], "bad", Object.keys(raw));
        } catch (e) {
            assert.ok(e instanceof ConfigError);
            expected = e.message;
        }
        assert.ok(expected.includes("eth0;touch /tmp/pwned"));
        const res = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts", "render.ts"), "bad", "--root", dir], {
            cwd: ROOT,
            encoding: "utf8",
        });
        assert.notEqual(res.status, 0);
        assert.ok(res.stderr.includes(expected), `stderr was:\n${res.stderr}`);
        assert.ok(!fs.existsSync(path.join(dir, "out")), "nothing is written for a bad stack");
    });
});
