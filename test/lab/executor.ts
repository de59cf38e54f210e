// Runs the program's registered remote resources for real against lab hosts, the way the
// @pulumi/command provider would (pulumi/pulumi-command provider/pkg/provider/remote/
// commandOutputs.go, commandController.go): one SSH session per command, `stdin` piped in, a
// non-zero exit fails the step with the command and its output, stdout/stderr returned with one
// trailing newline trimmed; `delete` runs with the state recorded at create (same connection and
// stdin). The lab never keeps its own copy of a script: it executes exactly the registered strings.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { unwrapSecrets, type Registered, type ResourceOptionsSeen, type RunOptions, type RunResult } from "../support/program";
import type { ExecResult, Lab, SshTarget } from "./harness";

/** What running a step needs of a lab: its SSH runner and host names (a whole Lab, or a forwarder link). */
export type LabLink = Pick<Lab, "exec" | "hosts">;

export interface ExecuteArgs {
    type: string;
    name: string;
    inputs: Record<string, any>;
    /** Parent URN, when the harness passes it (see README "Lab"). */
    parent?: string;
    urn?: string;
    /** ignoreChanges, replaceOnChanges, deleteBeforeReplace as registered (runProgram passes them). */
    options?: ResourceOptionsSeen;
}

export interface TimelineEntry {
    name: string;
    type: string;
    phase: "create" | "update" | "delete";
    /** Lab host name ("h1") or the raw connection host. */
    host: string;
    start: number;
    end: number;
    ok: boolean;
}

export interface LabExecutor {
    /** Pass as `runProgram({ execute })`. */
    execute: NonNullable<RunOptions["execute"]>;
    timeline: TimelineEntry[];
    /** Names of the resources created (or, with `prior`, created, updated or replaced) for real, in the order they finished. */
    executed: string[];
    /** What the run left in the modelled state, by resource name: pass as `prior` to the next run. */
    state: LabState;
    /**
     * With `prior`: runs the deletes of the replaced resources that were not delete-before-replace,
     * as the engine does at the end of an update. Call after runProgram resolves.
     */
    finish(): Promise<void>;
}

/** A resource as a stack's state holds it after a create or update: its inputs (ignored ones kept old) and outputs. */
export interface StateEntry {
    type: string;
    inputs: Record<string, any>;
    outputs: Record<string, any> | undefined;
    /** A CopyToRemote's source as the provider diffs it: its path and content hash. */
    source?: string;
}

export type LabState = Map<string, StateEntry>;

/** Thrown for a failed remote step, with the provider's wording. */
export class RemoteCommandError extends Error {
    constructor(
        readonly resource: string,
        readonly host: string,
        readonly result: ExecResult,
        command: string,
    ) {
        super(`${resource} on ${host}: Process exited with status ${result.code}: running ${JSON.stringify(command)}:\n${result.stdout}${result.stderr}`);
    }
}

export { unwrapSecrets };

function trimOne(s: string): string {
    return s.endsWith("\n") ? s.slice(0, -1) : s;
}

function targetOf(inputs: Record<string, any>, what: string): SshTarget {
    const c = unwrapSecrets(inputs.connection);
    if (!c || typeof c.host !== "string") throw new Error(`${what}: no connection.host in inputs`);
    if (c.proxy) throw new Error(`${what}: the lab has no jump host; connection.proxy is not supported here`);
    if (typeof c.privateKey !== "string") throw new Error(`${what}: the lab authenticates with connection.privateKey only`);
    return { host: c.host, port: c.port ?? 22, user: c.user ?? "root", privateKey: c.privateKey, hostKey: c.hostKey };
}

function hostLabel(lab: LabLink, host: string): string {
    return lab.hosts.find((h) => h.ipv4 === host || h.sshHost === host)?.name ?? host;
}

/** A remote.Command's create or delete over SSH; throws RemoteCommandError on a non-zero exit. */
export async function runRemote(lab: LabLink, name: string, inputs: Record<string, any>, command: string): Promise<{ stdout: string; stderr: string }> {
    const target = targetOf(inputs, name);
    const stdin = unwrapSecrets(inputs.stdin);
    const r = await lab.exec(target, command, { stdin: typeof stdin === "string" ? stdin : undefined });
    if (r.code !== 0) throw new RemoteCommandError(name, hostLabel(lab, target.host), r, command);
    return { stdout: trimOne(r.stdout), stderr: trimOne(r.stderr) };
}

/** Bytes of a deserialized asset or archive (FileAsset/StringAsset/FileArchive objects). */
async function assetContent(source: any): Promise<{ kind: "file"; data: Buffer } | { kind: "dir"; dir: string }> {
    if (source === null || typeof source !== "object") throw new Error("CopyToRemote: source is not an asset or archive");
    if (source.text !== undefined) return { kind: "file", data: Buffer.from(String(await source.text), "utf8") };
    if (source.path !== undefined) {
        const p = String(await source.path);
        const st = fs.statSync(p);
        return st.isDirectory() ? { kind: "dir", dir: p } : { kind: "file", data: fs.readFileSync(p) };
    }
    if (source.assets !== undefined) throw new Error("CopyToRemote: AssetArchive sources are not supported by the lab executor");
    throw new Error(`CopyToRemote: unknown source ${JSON.stringify(Object.keys(source))}`);
}

/** Copies like the provider: into an existing directory the item goes inside it; parents are created. */
export async function copyToRemote(lab: LabLink, name: string, raw: Record<string, any>): Promise<void> {
    const inputs = unwrapSecrets(raw);
    const target = targetOf(inputs, name);
    const remotePath = String(inputs.remotePath);
    const src = await assetContent(inputs.source);
    const itemName = inputs.source?.path !== undefined ? path.basename(String(await inputs.source.path)) : "";
    const files: { rel: string; data: Buffer }[] = [];
    if (src.kind === "file") {
        files.push({ rel: "", data: src.data });
    } else {
        const walk = (d: string, rel: string) => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                if (e.isDirectory()) walk(path.join(d, e.name), path.join(rel, e.name));
                else files.push({ rel: path.join(rel, e.name), data: fs.readFileSync(path.join(d, e.name)) });
            }
        };
        walk(src.dir, "");
    }
    // $1 remote path, $2 the item's own name (used when $1 is an existing directory), $3 path inside a copied directory.
    const body = [
        "set -eu",
        'dest=$1',
        'if [ -d "$dest" ] && [ -n "$2" ]; then dest=$dest/$2; fi',
        'if [ -n "$3" ]; then dest=$dest/$3; fi',
        'mkdir -p "$(dirname "$dest")"',
        'base64 -d > "$dest"',
    ].join("\n");
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    // A copied directory lands inside an existing remotePath once; decide that before the first file.
    const into = src.kind === "dir" ? ((await lab.exec(target, `test -d ${q(remotePath)}`)).code === 0 ? `${remotePath}/${itemName}` : remotePath) : remotePath;
    for (const f of files) {
        const cmd = `sh -c ${q(body)} sh ${q(into)} ${q(src.kind === "file" ? itemName : "")} ${q(f.rel)}`;
        const r = await lab.exec(target, cmd, { stdin: f.data.toString("base64") });
        if (r.code !== 0) throw new RemoteCommandError(name, hostLabel(lab, target.host), r, cmd);
    }
}

/**
 * The execute hook. `select` decides which resources run for real; the others keep the mock
 * runtime's fake success (empty stdout), so one component can be proven while others are
 * still skeletons.
 */
export function labExecutor(lab: Lab, opts: { select?: (r: ExecuteArgs) => boolean; prior?: LabState } = {}): LabExecutor {
    const timeline: TimelineEntry[] = [];
    const executed: string[] = [];
    const state: LabState = new Map();
    const pendingDeletes: { name: string; entry: StateEntry }[] = [];
    const run = async (r: ExecuteArgs, phase: TimelineEntry["phase"], inputs: Record<string, any>, body: () => Promise<Record<string, any> | undefined>) => {
        const entry: TimelineEntry = { name: r.name, type: r.type, phase, host: hostLabel(lab, String(unwrapSecrets(inputs.connection)?.host)), start: Date.now(), end: 0, ok: false };
        timeline.push(entry);
        try {
            const out = await body();
            entry.ok = true;
            return out;
        } finally {
            entry.end = Date.now();
        }
    };
    const create = (r: ExecuteArgs, inputs: Record<string, any>) =>
        run(r, "create", inputs, async () => {
            if (r.type !== "command:remote:Command") return void (await copyToRemote(lab, r.name, inputs));
            // No create: the provider runs nothing and does not connect (components/steps.ts).
            const create = unwrapSecrets(inputs.create);
            return typeof create === "string" ? runRemote(lab, r.name, inputs, create) : undefined;
        });
    const del = async (name: string, old: StateEntry) => {
        // CopyToRemote has no Delete, nor does a Command without `delete` run anything.
        const d = unwrapSecrets(old.inputs.delete);
        if (old.type !== "command:remote:Command" || typeof d !== "string") return;
        await run({ name, type: old.type, inputs: old.inputs }, "delete", old.inputs, () => runRemote(lab, name, old.inputs, d).then(() => undefined));
    };
    const execute = async (r: ExecuteArgs): Promise<Record<string, any> | undefined> => {
        if (r.type !== "command:remote:Command" && r.type !== "command:remote:CopyToRemote") return undefined;
        if (opts.select && !opts.select(r)) return undefined;
        const old = opts.prior?.get(r.name);
        if (!old || old.type !== r.type) {
            const out = await create(r, r.inputs);
            state.set(r.name, { type: r.type, inputs: r.inputs, outputs: out, source: await sourceOf(r) });
            executed.push(r.name);
            return out;
        }
        // `pulumi up` on an existing stack (pulumi-notes §1.3, §1.9): ignored inputs keep their
        // old values; a changed trigger replaces; another changed input updates in place.
        const inputs = { ...r.inputs };
        for (const k of r.options?.ignoreChanges ?? []) {
            if (k in old.inputs) inputs[k] = old.inputs[k];
            else delete inputs[k];
        }
        const source = await sourceOf({ ...r, inputs });
        const same = (k: string) => canonical(inputs[k]) === canonical(old.inputs[k]);
        const keys = [...new Set([...Object.keys(inputs), ...Object.keys(old.inputs)])].filter((k) => k !== "source");
        const replaceKeys = new Set(["triggers", ...(r.options?.replaceOnChanges ?? []).map((k) => k.replace(/\[.*$/, ""))]);
        let out: Record<string, any> | undefined;
        if (keys.some((k) => replaceKeys.has(k) && !same(k))) {
            if (r.options?.deleteBeforeReplace) {
                await del(r.name, old);
                out = await create(r, inputs);
            } else {
                out = await create(r, inputs);
                pendingDeletes.push({ name: r.name, entry: old });
            }
        } else if (keys.some((k) => !same(k)) || source !== old.source) {
            out = await run(r, "update", inputs, async () => {
                if (r.type === "command:remote:CopyToRemote") {
                    // Re-copies only for a changed asset or remote path; a new connection alone copies nothing.
                    if (source !== old.source || !same("remotePath")) await copyToRemote(lab, r.name, inputs);
                    return undefined;
                }
                const update = unwrapSecrets(inputs.update) ?? unwrapSecrets(inputs.create);
                return typeof update === "string" ? runRemote(lab, r.name, inputs, update) : undefined;
            });
        } else {
            state.set(r.name, old);
            return old.outputs;
        }
        state.set(r.name, { type: r.type, inputs, outputs: out, source });
        executed.push(r.name);
        return out;
    };
    const finish = async () => {
        for (const p of pendingDeletes.splice(0).reverse()) await del(p.name, p.entry);
    };
    return { execute, timeline, executed, state, finish };
}

/** JSON with sorted keys and secrets unwrapped, for comparing inputs across runs. */
function canonical(v: unknown): string {
    const sort = (x: any): any => (Array.isArray(x) ? x.map(sort) : x && typeof x === "object" ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort(x[k])])) : x);
    return JSON.stringify(sort(unwrapSecrets(v)) ?? null);
}

/** A CopyToRemote's source as the provider compares it (path and content hash); undefined for a Command. */
async function sourceOf(r: Pick<ExecuteArgs, "type" | "inputs">): Promise<string | undefined> {
    if (r.type !== "command:remote:CopyToRemote") return undefined;
    const src = await assetContent(unwrapSecrets(r.inputs).source);
    const p = r.inputs.source?.path !== undefined ? String(await r.inputs.source.path) : "";
    const h = createHash("sha256");
    if (src.kind === "file") h.update(src.data);
    else h.update(src.dir);
    return `${p} ${h.digest("hex")}`;
}

/** Selects the resources whose URN or parent chain includes a component type, e.g. `dualstack:index:HostPrep`. */
export function underComponent(type: string, result?: RunResult): (r: ExecuteArgs) => boolean {
    return (r) => {
        const chain = r.urn ?? r.parent ?? result?.resources.find((x) => x.name === r.name)?.urn;
        return chain !== undefined && chain.split("::")[2]?.split("$").includes(type);
    };
}

/**
 * Like `pulumi destroy` for the resources the executor created: each `delete` runs after the
 * deletes of everything that depends on it (dependents first), independent ones concurrently.
 */
export async function destroyRegistered(result: RunResult, lab: Lab, opts: { only?: string[]; timeline?: TimelineEntry[] } = {}): Promise<void> {
    const only = opts.only ? new Set(opts.only) : undefined;
    const nodes = result.resources.filter(
        (r) => (r.type === "command:remote:Command" || r.type === "command:remote:CopyToRemote") && (!only || only.has(r.name)),
    );
    const byUrn = new Map(nodes.map((r) => [r.urn, r]));
    // Dependents of each resource among the ones being destroyed. A child also depends on what
    // its ancestors depend on (Pulumi orders a component's children after the component's deps).
    const ancestorsDeps = (r: Registered): string[] => {
        const out: string[] = [...r.dependencies];
        let p = result.resources.find((x) => x.urn === r.parent);
        while (p) {
            out.push(...p.dependencies);
            p = result.resources.find((x) => x.urn === p!.parent);
        }
        return out;
    };
    const expand = (urns: string[]): Set<string> => {
        // A dependency on a component means a dependency on all its descendants.
        const out = new Set<string>();
        for (const u of urns) {
            out.add(u);
            for (const x of result.resources) if (x.urn.includes(`::`) && isDescendant(result, x, u)) out.add(x.urn);
        }
        return out;
    };
    const deps = new Map<string, Set<string>>();
    for (const r of nodes) deps.set(r.urn, new Set([...expand(ancestorsDeps(r))].filter((u) => byUrn.has(u) && u !== r.urn)));
    const dependents = new Map<string, Set<string>>(nodes.map((r) => [r.urn, new Set<string>()]));
    for (const [u, ds] of deps) for (const d of ds) dependents.get(d)!.add(u);

    const done = new Map<string, Promise<void>>();
    const destroyOne = (urn: string): Promise<void> => {
        const existing = done.get(urn);
        if (existing) return existing;
        const p = (async () => {
            await Promise.all([...dependents.get(urn)!].map(destroyOne));
            const r = byUrn.get(urn)!;
            const del = unwrapSecrets(r.inputs.delete);
            if (r.type !== "command:remote:Command" || typeof del !== "string") return;
            const entry: TimelineEntry = { name: r.name, type: r.type, phase: "delete", host: hostLabel(lab, String(unwrapSecrets(r.inputs.connection)?.host)), start: Date.now(), end: 0, ok: false };
            opts.timeline?.push(entry);
            try {
                await runRemote(lab, r.name, r.inputs, del);
                entry.ok = true;
            } finally {
                entry.end = Date.now();
            }
        })();
        done.set(urn, p);
        return p;
    };
    const results = await Promise.allSettled(nodes.map((r) => destroyOne(r.urn)));
    const failed = results.filter((x): x is PromiseRejectedResult => x.status === "rejected");
    if (failed.length > 0) throw new Error(`destroy failed:\n${failed.map((f) => String(f.reason?.message ?? f.reason)).join("\n")}`);
}

function isDescendant(result: RunResult, r: Registered, ancestorUrn: string): boolean {
    let p = r.parent;
    const seen = new Set<string>();
    while (p && !seen.has(p)) {
        if (p === ancestorUrn) return true;
        seen.add(p);
        p = result.resources.find((x) => x.urn === p)?.parent ?? "";
    }
    return false;
}

/**
 * Like a `pulumi up` that replaces `names` (delete-before-replace) and keeps everything else: the
 * old deletes run dependents first (as destroyRegistered), then the creates in registration
 * order with the recorded inputs. `stdinFrom` feeds a replaced step the new stdout of another
 * replaced step (a join token made again), as the program's `stdin: <step>.stdout` would.
 */
export async function replaceRegistered(
    result: RunResult,
    lab: Lab,
    names: string[],
    opts: { stdinFrom?: Record<string, string>; timeline?: TimelineEntry[] } = {},
): Promise<void> {
    await destroyRegistered(result, lab, { only: names, timeline: opts.timeline });
    const stdout = new Map<string, string>();
    for (const r of result.resources.filter((x) => names.includes(x.name))) {
        const from = opts.stdinFrom?.[r.name];
        if (from !== undefined && !stdout.has(from)) throw new Error(`${r.name} reads the stdout of ${from}, which is not replaced before it`);
        const inputs = from === undefined ? r.inputs : { ...r.inputs, stdin: stdout.get(from) };
        const entry: TimelineEntry = { name: r.name, type: r.type, phase: "create", host: hostLabel(lab, String(unwrapSecrets(r.inputs.connection)?.host)), start: Date.now(), end: 0, ok: false };
        opts.timeline?.push(entry);
        try {
            if (r.type === "command:remote:CopyToRemote") await copyToRemote(lab, r.name, inputs);
            else if (r.type === "command:remote:Command") {
                // No create: the provider runs nothing and does not connect (components/steps.ts).
                const create = unwrapSecrets(inputs.create);
                stdout.set(r.name, typeof create === "string" ? (await runRemote(lab, r.name, inputs, create)).stdout : "");
            }
            entry.ok = true;
        } finally {
            entry.end = Date.now();
        }
    }
}
