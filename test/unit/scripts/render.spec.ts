import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import { loadPlan } from "../../../components/plan";
import { ConfigError } from "../../../components/problems";
import { renderArtifacts } from "../../../components/render";
import { q, remoteCommand } from "../../../components/shell";
import { rawConfigFromStackFile, renderStack } from "../../../scripts/render";
import { renderRoot, ROOT, runProgram, stackConfig, testKeyFile } from "../../support/program";
import { SECURE_VALUE } from "../../../components/config";
import { validateStack } from "../../../components/stack";
import { baseConfig, rawConfig } from "../../support/configs";
import { tempDir } from "../../support/tmp";

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
    for (const stack of ["lab-k3s", "lab-k0s", "lab-kubeadm"]) {
        it(`${stack}: writes the plan and every artifact, and prints both addresses of every node`, () => {
            const out = tempDir("dualstack-render");
            const { summary, files } = renderStack(renderRoot(), stack, out);
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

    for (const stack of ["lab-k3s", "lab-k0s", "lab-kubeadm"]) {
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

    it("the summary says 2^64 instead of a 20-digit count, and that the facts step picks one persistence variant", () => {
        const out = tempDir("dualstack-render");
        const { summary } = renderStack(renderRoot(), "lab-k3s", out);
        assert.match(summary, /256 \/ 2\^64 pod addresses per node/);
        assert.doesNotMatch(summary, /\d{8,}/, "no count longer than 7 digits");
        assert.match(summary, /only ONE applies,\n\s+picked at run time by the facts step/);
        for (const f of ["netplan", "NetworkManager", "ifupdown", "systemd unit"]) assert.ok(summary.includes(f), f);
        for (const sh of fs.readdirSync(path.join(out, "nodes", "cp1", "scripts"))) {
            assert.doesNotMatch(fs.readFileSync(path.join(out, "nodes", "cp1", "scripts", sh), "utf8"), /[0-9a-f]\\:/, `${sh} escapes ':' in an IPv6 address`);
        }
    });

    it("reads secure values, at any depth, as placeholders without decrypting them", () => {
        const raw = rawConfigFromStackFile("config:\n  dualstack:token:\n    secure: AAABAxyz\n  dualstack:distribution: k3s\n  dualstack:ssh:\n    user: root\n    privateKey:\n      secure: v1:QUJD\n");
        assert.equal(raw["dualstack:token"], SECURE_VALUE);
        assert.equal(raw["dualstack:distribution"], "k3s");
        assert.deepEqual(JSON.parse(raw["dualstack:ssh"]), { user: "root", privateKey: SECURE_VALUE });
        assert.ok(!JSON.stringify(raw).includes("QUJD") && !JSON.stringify(raw).includes("AAABAxyz"), "no ciphertext is carried on");
    });

    // What `pulumi config set --secret dualstack:token` and `--secret --path dualstack:ssh.privateKey`
    // (README) write into the stack file: present and secret, never decrypted or printed.
    it("renders a stack whose token, SSH key and jump-host key are secure values", () => {
        const shipped = fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.lab-k3s.yaml"), "utf8");
        const text =
            shipped.replace("    privateKeyPath: ~/.ssh/id_ed25519\n", "    privateKey:\n      secure: v1:Q0lQSEVSVEVYVC1LRVk=\n    proxy:\n      host: 192.168.121.1\n      privateKey:\n        secure: v1:Q0lQSEVSVEVYVC1QUk9YWQ==\n") +
            "  dualstack:token:\n    secure: v1:Q0lQSEVSVEVYVC1UT0tFTg==\n";
        assert.notEqual(text, shipped);
        const root = renderRoot({ secure: text });
        const out = tempDir("dualstack-render");
        const { summary, files } = renderStack(root, "secure", out);
        const plan = JSON.parse(fs.readFileSync(path.join(out, "plan.json"), "utf8"));
        assert.equal(plan.ssh.hasInlinePrivateKey, true);
        assert.equal(plan.ssh.proxy.hasInlinePrivateKey, true);
        assert.deepEqual(files, [...renderArtifacts(planFor("lab-k3s")).map((a) => a.path), "plan.json"], "the same artifacts as with a key file");
        const written = [summary, ...files.map((f) => fs.readFileSync(path.join(out, f), "utf8"))].join("\n");
        for (const leak of ["Q0lQSEVSVEVYVC", "v1:", "\u0000"]) assert.ok(!written.includes(leak), `render output carries ${JSON.stringify(leak)}`);
    });

    it("refuses a secure value on a key that is not a secret, naming the key", () => {
        const raw = rawConfigFromStackFile("config:\n  dualstack:version:\n    secure: v1:eHg=\n");
        const all = { ...rawConfig(baseConfig()), ...raw };
        assert.throws(
            () => validateStack((k) => all[k], "t", Object.keys(all), { skipLocalFiles: true }),
            (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.key === "dualstack:version" && /encrypted in the stack file/.test(p.rule) && /pulumi config set --path dualstack:version/.test(p.fix)),
        );
    });

    it("names the stack file on a YAML syntax error", () => {
        const root = renderRoot({ broken: "config:\n  dualstack:distribution: k3s\n  dualstack:nodes: [a, b\n" });
        const res = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts", "render.ts"), "broken", "--root", root], { cwd: ROOT, encoding: "utf8" });
        assert.notEqual(res.status, 0);
        assert.match(res.stderr, /stacks\/Pulumi\.broken\.yaml: not valid YAML: .*line \d+, column \d+.*Fix: /, res.stderr);
    });

    // One validation path: the program's own refusal (index.ts under the mock runtime) is what the
    // render command prints, for config rules, a near-miss namespace and local files alike.
    it("exits non-zero with exactly the messages pulumi up gives on a bad stack, local files included", async () => {
        const shipped = fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.lab-k3s.yaml"), "utf8");
        const text = shipped
            .replace("interface: eth0", "interface: eth0;touch /tmp/pwned")
            .replace("privateKeyPath: ~/.ssh/id_ed25519", `privateKeyPath: ${testKeyFile()}`)
            .replace("  dualstack:install:\n    source: script\n", "  dualstack:install:\n    source: airgap\n    airgapDir: /nonexistent/dualstack-airgap\n  dualstak:traefik:\n    dashboard: true\n");
        const root = renderRoot({ bad: text });
        let expected = "";
        await runProgram({ config: rawConfigFromStackFile(text), stackName: "bad", preview: true }).then(
            () => assert.fail("the program accepted the bad stack"),
            (e: unknown) => {
                assert.ok(e instanceof ConfigError, String(e));
                expected = e.message;
            },
        );
        for (const part of ["eth0;touch /tmp/pwned", "dualstak:traefik", "rename it to dualstack:traefik", "dualstack:install.airgapDir", "is not a folder on this machine"]) {
            assert.ok(expected.includes(part), `pulumi up's refusal lacks ${part}:\n${expected}`);
        }
        const res = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts", "render.ts"), "bad", "--root", root], {
            cwd: ROOT,
            encoding: "utf8",
        });
        assert.notEqual(res.status, 0);
        assert.ok(res.stderr.includes(expected), `stderr was:\n${res.stderr}\nexpected:\n${expected}`);
        assert.ok(!fs.existsSync(path.join(root, "out")), "nothing is written for a bad stack");
    });

    it("refuses a private key file that does not exist, as pulumi up does; --no-local-files skips only that", () => {
        const text = fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.lab-k3s.yaml"), "utf8").replace("privateKeyPath: ~/.ssh/id_ed25519", "privateKeyPath: /nonexistent/id_ed25519");
        const root = tempDir("dualstack-root");
        fs.mkdirSync(path.join(root, "stacks"));
        fs.writeFileSync(path.join(root, "stacks", "Pulumi.nokey.yaml"), text);
        const out = path.join(root, "out", "nokey");
        assert.throws(
            () => renderStack(root, "nokey", out),
            (e: unknown) => e instanceof ConfigError && e.problems.length === 1 && e.problems[0].key === "dualstack:ssh.privateKeyPath" && /ENOENT/.test(e.problems[0].rule),
        );
        const { summary } = renderStack(root, "nokey", out, { noLocalFiles: true });
        assert.match(summary, /local files not checked \(--no-local-files\)/);
    });
});
