// A cluster's remote steps as plain data, and the two things done with them: registerSteps() turns
// them into remote.Command / remote.CopyToRemote resources (the components), stepArtifacts() into
// the scripts `npm run render` writes. Each distribution's steps.ts says WHAT runs WHERE and in
// WHICH ORDER (`after`); this file is the only place that knows HOW a step becomes a resource, so
// the order can be read and tested without Pulumi, and what render shows is what up runs.
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Artifact } from "./artifacts";
import type { Connection } from "./connection";
import { remoteCommand } from "./shell";

/** `after` entry naming the node's host preparation (skipped when host preparation is off). */
export const hostPrepOf = (node: string): string => `hostprep:${node}`;

/**
 * The line a step without a delete puts in its create or update when another step's delete on the same host
 * removes what it changes (a worker's upgrade over its install); the step must also carry that
 * step in its triggers. The policy install-commands-have-delete (policy/rules.ts
 * CLEANUP_OWNER_PREFIX, kept separate: the program does not ship the policy pack) reads it.
 */
export function cleanupOwnerLine(ownerStep: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(ownerStep)) throw new Error(`invalid owner step id ${JSON.stringify(ownerStep)}`);
    return `# dualstack: cleaned up by the delete of ${ownerStep}`;
}

export interface CommandStep {
    kind: "command";
    /** Unique; the resource is named `<component>-<id>`, and other steps refer to it by this id. */
    id: string;
    /** The node whose SSH connection runs the step. */
    runsOn: string;
    /** Stem of the rendered scripts: `nodes/<runsOn>/scripts/<script>-{create,update,delete}.sh`. */
    script: string;
    /**
     * What creating the step runs. Absent: nothing, and the provider does not even connect
     * (pulumi-command provider/pkg/provider/remote/commandController.go Create returns early when
     * `create` is nil), for steps that act only on a change of their inputs, such as a worker's
     * upgrade (components/batches.ts).
     */
    create?: string;
    /** In-place change (without it, an update runs `create` again); render writes it only when it differs from `create`. */
    update?: string;
    /** Undoes `create` on destroy (or replacement). */
    delete?: string;
    /**
     * Standard input: plain text (rendered as the node's `file` when one is named), a secret input of
     * the component (e.g. the join token), or another step's stdout (kept secret).
     */
    stdin?: { text: string; file?: string } | { secret: string } | { stdoutOf: string };
    /** Steps (ids) or host preparations (hostPrepOf) this one waits for, in this order. */
    after: string[];
    /** A change of any of these replaces the step; `{ idOf }` ties it to another step's identity. */
    triggers?: (string | { idOf: string })[];
    /** The input or output that carries a credential: kept secret in state. */
    secret?: "stdin" | "stdout";
    /** The step prints a credential: the provider logs nothing of it. */
    silent?: boolean;
    /** Inputs whose later changes do not touch the step (e.g. a token used once to join). */
    ignoreChanges?: string[];
    /** Old before new on replacement; true wherever delete undoes create. */
    deleteBeforeReplace: boolean;
}

export interface CopyStep {
    kind: "copy";
    id: string;
    runsOn: string;
    /** Local file (e.g. in install.airgapDir). */
    source: string;
    remotePath: string;
    after: string[];
    /** CopyToRemote re-copies only on a changed asset hash or path; these also make it copy again. */
    triggers: string[];
    deleteBeforeReplace: boolean;
}

export type Step = CommandStep | CopyStep;

/** A distribution's whole step list and what the add-ons wait for. */
export interface ClusterSteps {
    /** In registration order: every step comes after the steps it names in `after`. */
    steps: Step[];
    /** The step whose stdout is the admin kubeconfig. */
    kubeconfig: string;
    /** Steps after which the API answers. */
    apiReady: string[];
    /** Steps after which every node has joined. */
    nodesJoined: string[];
    /** Steps after which every worker runs the planned version (the last batch's upgrade steps). */
    upgraded: string[];
}

export function stepById(steps: ClusterSteps, id: string): Step {
    const s = steps.steps.find((x) => x.id === id);
    if (!s) throw new Error(`no step ${id}`);
    return s;
}

/** Every step and host preparation a step waits for, directly or through others. */
export function waitsFor(steps: ClusterSteps, id: string, seen = new Set<string>()): Set<string> {
    const s = steps.steps.find((x) => x.id === id);
    for (const a of s?.after ?? []) {
        if (!seen.has(a)) {
            seen.add(a);
            waitsFor(steps, a, seen);
        }
    }
    return seen;
}

export interface RegisterArgs {
    /** Resource name prefix (the component's name). */
    name: string;
    parent: pulumi.Resource;
    connections: Record<string, Connection>;
    /** Non-root SSH users run every step through `sudo -n`. */
    sudo: boolean;
    /** Host preparation per node name (absent when host preparation is off). */
    hostPreps: Record<string, pulumi.Resource>;
    /** Secret inputs steps may read on stdin, by name. */
    secrets?: Record<string, pulumi.Output<string>>;
}

export interface Registered {
    byId: Record<string, command.remote.Command | command.remote.CopyToRemote>;
    command(id: string): command.remote.Command;
    /** Per node, the resources whose delete runs on that node, in registration order. */
    onNode: Record<string, pulumi.Resource[]>;
}

/** Registers every step, in list order, as a child of `args.parent`. */
export function registerSteps(steps: Step[], args: RegisterArgs): Registered {
    const byId: Registered["byId"] = {};
    const onNode: Record<string, pulumi.Resource[]> = {};
    const resolve = (ref: string): pulumi.Resource | undefined => {
        if (ref.startsWith("hostprep:")) return args.hostPreps[ref.slice("hostprep:".length)];
        const r = byId[ref];
        if (!r) throw new Error(`step ${ref} is not registered yet; list it before the steps that wait for it`);
        return r;
    };
    const commandOf = (id: string): command.remote.Command => byId[id] as command.remote.Command;
    for (const step of steps) {
        const connection = args.connections[step.runsOn];
        if (!connection) throw new Error(`no SSH connection for node ${step.runsOn}`);
        const opts: pulumi.CustomResourceOptions = {
            parent: args.parent,
            dependsOn: step.after.map(resolve).filter((r): r is pulumi.Resource => r !== undefined),
            ...(step.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
        };
        const resourceName = `${args.name}-${step.id}`;
        if (step.kind === "copy") {
            byId[step.id] = new command.remote.CopyToRemote(
                resourceName,
                { connection, source: new pulumi.asset.FileAsset(step.source), remotePath: step.remotePath, triggers: step.triggers },
                opts,
            );
            continue;
        }
        byId[step.id] = new command.remote.Command(resourceName, commandArgs(step, connection, args, commandOf), {
            ...opts,
            ...(step.ignoreChanges ? { ignoreChanges: step.ignoreChanges } : {}),
            ...(step.secret ? { additionalSecretOutputs: [step.secret] } : {}),
        });
        if (step.delete !== undefined) (onNode[step.runsOn] ??= []).push(byId[step.id]);
    }
    return { byId, command: commandOf, onNode };
}

function commandArgs(step: CommandStep, connection: Connection, args: RegisterArgs, byId: (id: string) => command.remote.Command): command.remote.CommandArgs {
    const run = (body: string) => remoteCommand(body, args.sudo);
    const stdin = step.stdin;
    return {
        connection,
        ...(step.create !== undefined ? { create: run(step.create) } : {}),
        ...(step.update !== undefined ? { update: run(step.update) } : {}),
        ...(step.delete !== undefined ? { delete: run(step.delete) } : {}),
        // Secrets never ride in PULUMI_COMMAND_STDOUT (a kubeconfig read's previous output would),
        // and hosts without AcceptEnv do not warn on every delete (pulumi-command#430).
        addPreviousOutputInEnv: false,
        ...(stdin === undefined
            ? {}
            : "text" in stdin
              ? { stdin: stdin.text }
              : "secret" in stdin
                ? { stdin: secretInput(args, stdin.secret) }
                : { stdin: pulumi.secret(byId(stdin.stdoutOf).stdout) }),
        ...(step.silent ? { logging: "none" as const } : {}),
        ...(step.triggers ? { triggers: step.triggers.map((t) => (typeof t === "string" ? t : byId(t.idOf).id)) } : {}),
    };
}

function secretInput(args: RegisterArgs, name: string): pulumi.Output<string> {
    const s = args.secrets?.[name];
    if (!s) throw new Error(`no secret input ${name}`);
    return s;
}

/** The scripts (and stdin files) of every command step, as `npm run render` writes them. */
export function stepArtifacts(steps: Step[]): Artifact[] {
    const out: Artifact[] = [];
    for (const s of steps) {
        if (s.kind !== "command") continue;
        if (s.stdin && "file" in s.stdin && s.stdin.file) out.push({ path: `nodes/${s.runsOn}/${s.stdin.file.replace(/^\/+/, "")}`, content: s.stdin.text });
        const base = `nodes/${s.runsOn}/scripts/${s.script}`;
        if (s.create !== undefined) out.push({ path: `${base}-create.sh`, content: s.create });
        if (s.update !== undefined && s.update !== s.create) out.push({ path: `${base}-update.sh`, content: s.update });
        if (s.delete !== undefined) out.push({ path: `${base}-delete.sh`, content: s.delete });
    }
    return out;
}

/** `path.join` for a copy's local source, kept here so steps.ts files stay free of Node APIs. */
export const localFile = (dir: string, file: string): string => path.join(dir, file);
