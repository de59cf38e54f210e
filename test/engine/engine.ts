// The real Pulumi engine for the engine test: the `pulumi` CLI and provider plugins built by
// `npm run engine:build` (scripts/engine-build.ts), a PULUMI_HOME and a file backend this test owns,
// the passphrase secrets provider, and plugins registered with `pulumi plugin install --file`.
//
// The program runs as an Automation API inline program: the Node.js language host
// (pulumi-language-nodejs) cannot be built here (the Go proxy refuses its module; README "Engine"),
// so @pulumi/pulumi/automation starts the SDK's own language runtime server in this process and
// the real CLI attaches to it (`--client`). Everything after the program's registrations (plan,
// diff, replace, ordering, state, secrets, plugins) is the real engine's.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineEvent, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { engineBuild } from "../../scripts/engine-build";
import { ROOT } from "../support/program";
import { COMMAND_DOUBLE_VERSION } from "./command-double";
import { tempDir } from "../support/tmp";

export const PASSPHRASE = "dualstack-engine-test-passphrase";

export interface Engine {
    bin: string;
    home: string;
    backend: string;
    workDir: string;
    env: Record<string, string>;
    cmd: PulumiCommand;
    /** Runs the CLI itself (not through the Automation API). */
    cli(args: string[], opts?: { cwd?: string }): { code: number; stdout: string; stderr: string };
    /** Removes every directory this engine made. */
    cleanup(): void;
}

interface ToolEntry {
    binary: string;
    version?: string;
    plugin?: { kind: string; name: string };
}

/** Builds (or reuses) the tools and prepares an isolated PULUMI_HOME with every plugin registered. */
export async function startEngine(opts: { forwarder: string }): Promise<Engine> {
    // DUALSTACK_ENGINE_BIN: a bin directory laid out like engine:bin's, used as is (no build).
    const bin = process.env.DUALSTACK_ENGINE_BIN || (await engineBuild());
    const top = tempDir("dualstack-engine");
    const home = path.join(top, "home");
    const backend = path.join(top, "state");
    const workDir = path.join(top, "project");
    // The engine's children write their temporary files here, removed with the rest: the kubernetes
    // provider writes its kubeconfig for Helm to os.CreateTemp("", "kubeconfig") on every Configure and
    // never removes it (pulumi-kubernetes provider/pkg/provider/util.go writeKubeconfigToFile).
    const tmp = path.join(top, "tmp");
    for (const d of [home, backend, workDir, tmp]) fs.mkdirSync(d, { recursive: true });
    const env: Record<string, string> = {
        PULUMI_HOME: home,
        TMPDIR: tmp,
        PULUMI_BACKEND_URL: `file://${backend}`,
        PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        // Only the registered plugins count: no plugin from PATH or from beside the CLI.
        PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
        PULUMI_SKIP_CONFIRMATIONS: "true",
        // The command plugin TEST DOUBLE reaches the lab network through the lab's forwarder.
        DUALSTACK_LAB_FORWARDER: opts.forwarder,
    };
    const fullEnv = () => ({ ...process.env, ...env });
    const cli = (args: string[], o: { cwd?: string } = {}) => {
        const r = spawnSync(path.join(bin, "pulumi"), args, { cwd: o.cwd ?? workDir, env: fullEnv(), encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
        return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    };
    const must = (args: string[]) => {
        const r = cli(args);
        if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
        return r;
    };

    // Real plugins, from the build's manifest.
    const tools = JSON.parse(fs.readFileSync(path.join(bin, "tools.json"), "utf8")) as ToolEntry[];
    for (const t of tools) {
        if (t.plugin && t.version) must(["plugin", "install", t.plugin.kind, t.plugin.name, t.version, "--file", path.join(bin, t.binary)]);
    }
    // The command plugin TEST DOUBLE (test/engine/command-double.ts), registered like the real one.
    const double = path.join(top, "pulumi-resource-command");
    fs.writeFileSync(
        double,
        [
            "#!/bin/sh",
            "# TEST DOUBLE of pulumi-resource-command: see test/engine/command-double.ts",
            `TS_NODE_PROJECT=${JSON.stringify(path.join(ROOT, "tsconfig.json"))} exec ${JSON.stringify(process.execPath)} -r ${JSON.stringify(path.join(ROOT, "node_modules", "ts-node", "register", "transpile-only"))} ${JSON.stringify(path.join(__dirname, "command-double.ts"))} "$@"`,
            "",
        ].join("\n"),
        { mode: 0o755 },
    );
    must(["plugin", "install", "resource", "command", COMMAND_DOUBLE_VERSION, "--file", double]);
    must(["login", `file://${backend}`]);

    const cmd = await PulumiCommand.get({ root: path.dirname(bin) });
    return {
        bin,
        home,
        backend,
        workDir,
        env,
        cmd,
        cli,
        cleanup: () => fs.rmSync(top, { recursive: true, force: true }),
    };
}

/** Drops the program's own modules from require's cache, so each run registers afresh. */
function freshProgram(): () => Promise<Record<string, unknown>> {
    for (const k of Object.keys(require.cache)) {
        if (k.startsWith(ROOT) && !k.includes(`${path.sep}node_modules${path.sep}`) && !k.includes(`${path.sep}test${path.sep}`) && !k.includes(`${path.sep}scripts${path.sep}`)) {
            delete require.cache[k];
        }
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.join(ROOT, "index.ts"));
}

/** A new stack running index.ts, with `config` (flat keys) and `secret` keys stored as secrets. */
export async function newStack(engine: Engine, stackName: string, config: Record<string, string>, secret: string[] = []): Promise<Stack> {
    const stack = await LocalWorkspace.createStack(
        { stackName, projectName: "dualstack", program: async () => freshProgram()() },
        {
            workDir: engine.workDir,
            pulumiHome: engine.home,
            pulumiCommand: engine.cmd,
            envVars: engine.env,
            secretsProvider: "passphrase",
            projectSettings: { name: "dualstack", runtime: "nodejs", backend: { url: `file://${engine.backend}` } },
        },
    );
    await setConfig(stack, config, secret);
    return stack;
}

export async function setConfig(stack: Stack, config: Record<string, string>, secret: string[] = []): Promise<void> {
    await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: v, secret: secret.includes(k) }])));
}

export interface Step {
    op: string;
    urn: string;
    type: string;
    name: string;
}

/** The steps an operation planned or ran, from its engine events (resourcePreEvent). */
export function stepsOf(events: EngineEvent[]): Step[] {
    return events.flatMap((e) => {
        const m = e.resourcePreEvent?.metadata;
        return m ? [{ op: m.op, urn: m.urn, type: m.type, name: m.urn.split("::").at(-1)! }] : [];
    });
}

/** The URNs of the host and cluster part: HostPrep and the cluster component with their commands. */
export function hostAndClusterTargets(steps: Step[]): string[] {
    const part = /\$?dualstack:index:(HostPrep|K3sCluster|K0sCluster)(\$|::)/;
    return steps.filter((s) => part.test(s.urn) && s.type !== "pulumi:providers:kubernetes").map((s) => s.urn);
}
