// Step shapes k0s and kubeadm share, as plain data (components/steps.ts): the distributions differ
// in their scripts, not in how these steps are wired. Each distribution's steps.ts passes its own
// scripts and names; what a step waits for, what replaces it and what is secret is decided here.
import { hostPrepOf, localFile, type CommandStep, type Step } from "./steps";

export interface AirgapStage {
    /** Script-name prefix, e.g. `k0s`. */
    distribution: string;
    node: string;
    host: string;
    version: string;
    airgapDir: string;
    create: string;
    delete: string;
    /** Each file of install.airgapDir: its step id (after `<node>-`) and where it is staged. */
    files: { id: string; file: string; remotePath: string }[];
}

/**
 * The root-owned staging directory the SSH user may write to, then one copy per air-gap file into
 * it. CopyToRemote only copies again on a changed asset or path, so a new host or version must
 * appear in the copies' triggers. The copies have no delete: the stage's delete removes them.
 */
export function airgapStageSteps(a: AirgapStage): Step[] {
    const stage = `${a.node}-airgap-stage`;
    return [
        {
            kind: "command",
            id: stage,
            runsOn: a.node,
            script: `${a.distribution}-airgap-stage`,
            create: a.create,
            delete: a.delete,
            after: [hostPrepOf(a.node)],
            deleteBeforeReplace: true,
        },
        ...a.files.map(
            (f): Step => ({
                kind: "copy",
                id: `${a.node}-${f.id}`,
                runsOn: a.node,
                source: localFile(a.airgapDir, f.file),
                remotePath: f.remotePath,
                after: [hostPrepOf(a.node), stage],
                triggers: [a.version, a.host],
                deleteBeforeReplace: false,
            }),
        ),
    ];
}

export interface OnFirstControlPlane {
    distribution: string;
    node: string;
    firstControlPlane: string;
    /** The node's create-only settings: a change replaces the node, and these steps with it. */
    triggers: string[];
}

/**
 * On the first control plane: the node's join secrets (token, and what else the distribution
 * needs), printed to stdout, which is secret and never logged. Replaced with its node, so a
 * re-created node gets a fresh token, never an expired one. Otherwise it never runs again (its
 * create is ignored: a changed expiry applies to the next token): its stdout, the node's stdin,
 * then changes only together with the node, which therefore need not ignore its stdin.
 */
export function joinSecretsStep(a: OnFirstControlPlane & { create: string; after: string[] }): CommandStep {
    return {
        kind: "command",
        id: `${a.node}-token`,
        runsOn: a.firstControlPlane,
        script: `${a.distribution}-token-${a.node}`,
        create: a.create,
        after: a.after,
        triggers: a.triggers,
        ignoreChanges: ["create"],
        secret: "stdout",
        silent: true,
        deleteBeforeReplace: false,
    };
}

/**
 * On the first control plane: waits for the node's Node object; its delete drains and deletes it
 * before the node's install is undone. The first control plane's Node goes with the cluster
 * itself, so its step has no `drain`.
 */
export function nodeJoinedStep(a: OnFirstControlPlane & { create: string; drain?: string }): CommandStep {
    return {
        kind: "command",
        id: `${a.node}-joined`,
        runsOn: a.firstControlPlane,
        script: `${a.distribution}-joined-${a.node}`,
        create: a.create,
        ...(a.drain !== undefined ? { delete: a.drain } : {}),
        after: [`${a.node}-install`, `${a.firstControlPlane}-install`],
        triggers: a.triggers,
        deleteBeforeReplace: true,
    };
}

/**
 * A timer on a control plane after its install (etcd snapshots, k0s backups): a changed schedule
 * or retention rewrites it in place; its delete removes the timer and keeps what it saved.
 */
export function controlPlaneTimerStep(a: { id: string; node: string; script: string; create: string; delete: string }): CommandStep {
    return {
        kind: "command",
        id: `${a.node}-${a.id}`,
        runsOn: a.node,
        script: a.script,
        create: a.create,
        update: a.create,
        delete: a.delete,
        after: [`${a.node}-install`],
        deleteBeforeReplace: true,
    };
}
