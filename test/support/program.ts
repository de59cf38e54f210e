// Runs index.ts under Pulumi's mock runtime and records every registration with what the mock
// API hides: dependencies, parent, deleteBeforeReplace, secret outputs and which inputs are secret.
// Preview mode behaves like a first `pulumi preview`: no resource has outputs yet.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { loadPlan } from "../../components/plan";
import { rawConfigFromStackFile } from "../../scripts/render";
import { healthyCollectorOutput } from "../fixtures/check/double";
import { tempDir } from "./tmp";

export const ROOT = path.resolve(__dirname, "..", "..");
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface Registered {
    type: string;
    name: string;
    urn: string;
    parent: string;
    custom: boolean;
    /** Inputs as the mock monitor deserialises them (secret values may still be wrapped). */
    inputs: Record<string, any>;
    /** Top-level input names whose value (or part of it) is a Pulumi secret. */
    secretInputs: string[];
    dependencies: string[];
    deleteBeforeReplace: boolean;
    additionalSecretOutputs: string[];
    replaceOnChanges: string[];
    ignoreChanges: string[];
    retainOnDelete: boolean;
    deletedWith: string;
    provider: string;
}

export interface RunOptions {
    /** A stack name under stacks/, or explicit raw config (Pulumi's flat key -> string form). */
    stack?: string;
    config?: Record<string, string>;
    stackName?: string;
    preview: boolean;
    /** Fake `stdout` of a remote Command in update mode, by resource name and inputs. */
    stdout?: (name: string, inputs: Record<string, any>) => string | undefined;
    /**
     * Update mode only: performs a resource's create for real (the lab runs remote Commands over
     * SSH here) and returns output state to merge. Because the SDK awaits a dependency's
     * registration before registering its dependents, this runs in the engine's dependency order,
     * concurrently where the graph allows. Throwing fails the run, as a failed create would.
     */
    execute?: (r: { type: string; name: string; inputs: Record<string, any>; parent?: string; options?: ResourceOptionsSeen }) => Promise<Record<string, any> | undefined>;
}

/** The resource options a diff needs, as registered (the mock's newResource is not told them). */
export interface ResourceOptionsSeen {
    ignoreChanges: string[];
    replaceOnChanges: string[];
    deleteBeforeReplace: boolean;
}

export interface RunResult {
    resources: Registered[];
    outputs: Record<string, unknown>;
    byType(type: string): Registered[];
    byName(name: string): Registered;
}

export function stackConfig(stack: string): Record<string, string> {
    return rawConfigFromStackFile(fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8"));
}

/**
 * The shipped stacks point at ~/.ssh/id_ed25519, which a test machine lacks: point privateKeyPath
 * at a throwaway file instead (its content only has to flow through as a secret).
 */
export function withTestKey(config: Record<string, string>): Record<string, string> {
    const ssh = config["dualstack:ssh"];
    if (!ssh) return config;
    const parsed = JSON.parse(ssh);
    if (!parsed.privateKeyPath || fs.existsSync(parsed.privateKeyPath)) return config;
    return { ...config, "dualstack:ssh": JSON.stringify({ ...parsed, privateKeyPath: testKeyFile() }) };
}

/** A throwaway private key file (its content only has to flow through as a secret). */
export function testKeyFile(): string {
    const dir = tempDir("dualstack-key");
    const file = path.join(dir, "id_test");
    fs.writeFileSync(file, "TEST-ONLY-NOT-A-REAL-KEY\n", { mode: 0o600 });
    return file;
}

/**
 * A temporary project root for `renderStack(root, ...)` holding the shipped stack files (or the
 * given texts), with `privateKeyPath: ~/.ssh/id_ed25519` pointed at a test key file, because
 * render, like `pulumi up`, refuses a key file that does not exist.
 */
export function renderRoot(stacks: Record<string, string> = {}): string {
    const root = tempDir("dualstack-root");
    fs.mkdirSync(path.join(root, "stacks"));
    const key = testKeyFile();
    const texts: Record<string, string> = { ...stacks };
    for (const f of fs.readdirSync(path.join(ROOT, "stacks"))) {
        const m = /^Pulumi\.(.+)\.yaml$/.exec(f);
        if (m && !(m[1] in texts)) texts[m[1]] = fs.readFileSync(path.join(ROOT, "stacks", f), "utf8");
    }
    for (const [stack, text] of Object.entries(texts)) {
        fs.writeFileSync(path.join(root, "stacks", `Pulumi.${stack}.yaml`), text.replace("privateKeyPath: ~/.ssh/id_ed25519", `privateKeyPath: ${key}`));
    }
    return root;
}

const SECRET_KEY = "4dabf18193072939515e22adb298388d";

/** A value with Pulumi's serialized secret wrappers replaced by their values, as the provider sees it. */
export function unwrapSecrets<T>(v: T): T {
    if (Array.isArray(v)) return v.map(unwrapSecrets) as T;
    if (v === null || typeof v !== "object" || Object.getPrototypeOf(v) !== Object.prototype) return v;
    const o = v as Record<string, unknown>;
    if (SECRET_KEY in o && "value" in o) return unwrapSecrets(o.value) as T;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)])) as T;
}

/** Every string anywhere inside a value (e.g. to search all registered inputs for a token). */
export function stringLeaves(v: unknown, out: string[] = []): string[] {
    if (typeof v === "string") out.push(v);
    else if (v !== null && typeof v === "object") for (const x of Object.values(v as object)) stringLeaves(x, out);
    return out;
}

function hasSecret(v: unknown): boolean {
    if (v === null || typeof v !== "object") return false;
    if ((v as Record<string, unknown>)[SECRET_KEY] === SECRET_SIG) return true;
    return Object.values(v as object).some(hasSecret);
}

/** Resolves an output, rejecting when it failed (apply alone would never settle). */
function resolveOutput(v: unknown): Promise<unknown> {
    // promise() is internal API, but it is the only way that propagates a rejected output.
    return (pulumi.output(v as any) as unknown as { promise(): Promise<unknown> }).promise();
}

let serial: Promise<unknown> = Promise.resolve();

/** Runs the program once; runs are serialised because Pulumi's runtime state is global. */
export function runProgram(opts: RunOptions): Promise<RunResult> {
    const run = serial.then(() => runOnce(opts));
    serial = run.catch(() => undefined);
    return run;
}

async function runOnce(opts: RunOptions): Promise<RunResult> {
    const stackName = opts.stackName ?? opts.stack ?? "test";
    const config = withTestKey(opts.config ?? stackConfig(opts.stack!));
    const { resources, value: outputs } = await underMocks({ ...opts, stackName, config }, async (failed) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const program = require(path.join(ROOT, "index.ts")) as () => Promise<Record<string, unknown>>;
        const exported = await Promise.race([program(), failed]);
        const out: Record<string, unknown> = {};
        if (!opts.preview) {
            for (const [k, v] of Object.entries(exported)) out[k] = await Promise.race([resolveOutput(v), failed]);
        }
        return out;
    });
    return {
        resources,
        outputs,
        byType: (type) => resources.filter((r) => r.type === type),
        byName: (name) => {
            const r = resources.find((x) => x.name === name);
            if (!r) throw new Error(`no resource named ${name}; have ${resources.map((x) => x.name).join(", ")}`);
            return r;
        },
    };
}

/**
 * Runs `body` (which registers resources) under Pulumi's mock runtime and records every
 * registration. Runs are serialised with runProgram because Pulumi's runtime state is global.
 * `body` gets a promise that rejects when a create fails, to race its own awaits against.
 */
export function runUnderMocks<T>(
    opts: { stackName: string; preview: boolean; config?: Record<string, string> },
    body: (failed: Promise<never>) => Promise<T>,
): Promise<{ resources: Registered[]; value: T }> {
    const run = serial.then(() => underMocks({ ...opts, config: opts.config ?? {} }, body));
    serial = run.catch(() => undefined);
    return run;
}

async function underMocks<T>(
    opts: Omit<RunOptions, "stack" | "config" | "stackName"> & { stackName: string; config: Record<string, string> },
    body: (failed: Promise<never>) => Promise<T>,
): Promise<{ resources: Registered[]; value: T }> {
    const { stackName, config } = opts;
    const resources: Registered[] = [];
    /** Parent URN by `type::name`, recorded before the mock's newResource runs (it is not told). */
    const parents = new Map<string, string>();
    const options = new Map<string, ResourceOptionsSeen>();
    // A failed create makes dependent outputs never resolve; the run fails with the first error.
    const failed: { reject: (e: unknown) => void; promise: Promise<never> } = { reject: () => undefined, promise: undefined as unknown as Promise<never> };
    failed.promise = new Promise<never>((_, reject) => (failed.reject = reject));
    failed.promise.catch(() => undefined);
    const mocks: pulumi.runtime.Mocks = {
        async newResource(args) {
            const state: Record<string, any> = { ...args.inputs };
            if (opts.preview) return { id: undefined, state: {} };
            if (args.type === "command:remote:Command") {
                // By default an update models a healthy cluster: the dual-stack check's collector
                // reports what a correct cluster would show for this plan.
                state.stdout =
                    opts.stdout?.(args.name, args.inputs) ??
                    (args.name === "check-run" && config["dualstack:nodes"] ? healthyCollectorOutput(loadPlan((k) => config[k], stackName, Object.keys(config)).plan) : "");
                state.stderr = "";
            }
            if (args.type.startsWith("random:")) state.result = `mock-${args.name}-0123456789abcdef0123456789abcdef`;
            if (opts.execute && args.custom !== false) {
                try {
                    const key = `${args.type}::${args.name}`;
                    Object.assign(state, (await opts.execute({ type: args.type, name: args.name, inputs: args.inputs, parent: parents.get(key), options: options.get(key) })) ?? {});
                } catch (e) {
                    failed.reject(e);
                    throw e;
                }
            }
            return { id: `${args.name}-id`, state };
        },
        call(args) {
            return args.inputs;
        },
    };
    await pulumi.runtime.setMocks(mocks, "dualstack", stackName, opts.preview);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings");
    const monitor = settings.getMonitor();
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
        parents.set(`${req.getType()}::${req.getName()}`, req.getParent());
        options.set(`${req.getType()}::${req.getName()}`, {
            ignoreChanges: req.getIgnorechangesList(),
            replaceOnChanges: req.getReplaceonchangesList(),
            deleteBeforeReplace: req.getDeletebeforereplace(),
        });
        original(req, (err: any, resp: any) => {
            if (!err) {
                const raw = req.getObject()?.toJavaScript() ?? {};
                const { deserializeProperties } = require("@pulumi/pulumi/runtime/rpc");
                resources.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn: resp.getUrn(),
                    parent: req.getParent(),
                    custom: req.getCustom(),
                    inputs: deserializeProperties(req.getObject()),
                    secretInputs: Object.keys(raw).filter((k) => hasSecret(raw[k])),
                    dependencies: req.getDependenciesList(),
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    replaceOnChanges: req.getReplaceonchangesList(),
                    ignoreChanges: req.getIgnorechangesList(),
                    retainOnDelete: req.getRetainondelete(),
                    deletedWith: req.getDeletedwith(),
                    provider: req.getProvider(),
                });
            }
            callback(err, resp);
        });
    };
    const secretKeys = Object.keys(config).filter((k) => k === "dualstack:token");
    pulumi.runtime.setAllConfig(config, secretKeys);

    // The language host reports a failed dependsOn (e.g. a refused preflight) as an unhandled
    // rejection and fails the program; do the same here instead of hanging.
    const onUnhandled = (e: unknown) => failed.reject(e);
    process.on("unhandledRejection", onUnhandled);
    let value: T;
    try {
        value = await Promise.race([body(failed.promise), failed.promise]);
        await Promise.race([settings.waitForRPCs(), failed.promise]);
    } finally {
        process.removeListener("unhandledRejection", onUnhandled);
    }
    const names = new Set<string>();
    for (const r of resources) {
        // The mock monitor silently overwrites duplicate URNs; a real engine refuses them.
        if (names.has(r.urn)) throw new Error(`duplicate resource URN ${r.urn}`);
        names.add(r.urn);
    }
    return { resources, value };
}

/** The URNs a resource waits for, directly or through its ancestors' dependencies. */
export function transitiveDeps(result: RunResult, r: Registered): Set<string> {
    const byUrn = new Map(result.resources.map((x) => [x.urn, x]));
    const out = new Set<string>();
    const stack = [...r.dependencies];
    while (stack.length) {
        const u = stack.pop()!;
        if (out.has(u)) continue;
        out.add(u);
        const d = byUrn.get(u);
        if (d) stack.push(...d.dependencies);
    }
    return out;
}
