// The remote steps of a k3s cluster and their order, as plain data (components/steps.ts): which node
// runs what, after what. Pure. K3sCluster registers them (registerSteps), render.ts writes them
// (stepArtifacts), and the unit tests read the order straight from here.
//
// Every install(n) also waits for hostPrep(n), token(n) and, air-gapped, the copies to n; each
// member(n) runs on the first server:
//
//   install(server 1) ─┬─ install(server 2) ── member(server 2) ── install(server 3) ── member(server 3) ─┐
//                      ├─ kubeconfig                                                                     │
//                      └─────────────────────────────────────────────────────────────────────────────────┼─ install(agent i) ── member(agent i)
//                                                                                                           │  (all agents in parallel)
//   batch 1: drain(a) ── upgrade(a) ── uncordon(a) ── batch 2: drain(b) ── ... ◄─────────────────────────────┘
//   (each agent's drain also after its member)
// - Servers join one at a time: each waits for the previous one to answer /readyz and register
//   (etcd membership changes one by one).
// - Agents wait for the whole control plane, not for each other: the critical path grows with the
//   number of servers only. Waiting for all servers (not only the first) is what makes destroy
//   remove agents first, then the extra servers newest first, then the first server.
// - A server's version is in its install: an upgrade updates servers one at a time. An agent's
//   install takes a later version into its recorded create (so a replaced agent is created at the
//   pinned version) but its update only applies config.yaml, which changes nothing on a version
//   change; its version is in three upgrade steps (batches.ts workerUpgradeSteps): drain on
//   the first server, upgrade on the agent, uncordon on the first server. Agents go in batches
//   of cluster.workerUpgradeBatch (default 10% of them, at least 1, as k0sctl), batch 1 after the
//   last server (kubelets never newer than an API server, Kubernetes' skew policy), each batch
//   after the previous batch's uncordons. On a first up every agent joins at once and the upgrade
//   steps, which have no create, run nothing.
// - With dualstack:registries, registries(n) writes registries.yaml before install(n); they run
//   one node after the other (servers first), so a mirror change restarts one node at a time.
// - member(n) runs on the first server: its create waits until n registered with the pinned
//   kubelet version, its delete drains and deletes n while the API is up. It depends on install(n),
//   so it is deleted (drain) before install(n) is (uninstall), also when only n leaves the stack.
import { workerBatchesOf, workerUpgradeSteps } from "../batches";
import type { Plan, PlannedNode } from "../plan";
import { ClusterSteps, CommandStep, hostPrepOf, localFile, Step } from "../steps";
import { createOnlySettings, renderK3sConfig } from "./config";
import {
    agentReconfigureScript,
    agentUpgradeScript,
    AIRGAP_FILES,
    airgapStageCreateScript,
    airgapStageDeleteScript,
    installScript,
    K3S_PATHS,
    kubeconfigReadScript,
    memberCreateScript,
    registriesContent,
    registriesCreateScript,
    registriesDeleteScript,
    REGISTRIES_FILE,
    memberDeleteScript,
    tokenCreateScript,
    tokenDeleteScript,
    uninstallScript,
    upgradeNode,
} from "./scripts";

/** The secret input the token steps read on stdin (K3sCluster passes the join token under it). */
export const TOKEN_SECRET = "token";
/** The secret input registries.yaml is read from when it carries credentials. */
export const REGISTRIES_SECRET = "registries";


/** True when registries.yaml carries credentials (then it is a secret input, not plain stdin). */
export function registriesAreSecret(plan: Plan): boolean {
    return Object.values(plan.registries?.configs ?? {}).some((c) => c.auth !== undefined);
}

/**
 * Servers in join order (the first server first), then agents; `airgapImages` are the image
 * tarballs found in install.airgapDir (the component lists the folder; render copies nothing).
 */
export function k3sSteps(plan: Plan, airgapImages: string[] = []): ClusterSteps {
    const first = plan.firstControlPlane.name;
    const firstInstall = `${first}-install`;
    const steps: Step[] = [];
    const installs: string[] = [];
    const members: string[] = [];
    /** The last step of the control plane so far: the next server (and the agents) wait for it. */
    let controlPlaneDone = firstInstall;
    let previousRegistries: string | undefined;
    for (const node of [...plan.controlPlanes, ...plan.workers]) {
        const n = node.name;
        const isFirst = n === first;
        const ready = hostSteps(plan, node, airgapImages);
        steps.push(...ready);
        const registries = registriesStep(plan, node, previousRegistries);
        if (registries) {
            steps.push(registries);
            previousRegistries = registries.id;
        }
        const order = isFirst ? [] : node.role === "control-plane" ? [controlPlaneDone] : [...new Set([firstInstall, controlPlaneDone])];
        const copies = ready.filter((s) => s.kind === "copy").map((s) => s.id);
        const install = installStep(plan, node, [hostPrepOf(n), `${n}-token`, ...copies, ...(registries ? [registries.id] : []), ...order]);
        steps.push(install);
        installs.push(install.id);
        if (!isFirst) {
            const member = memberStep(plan, node, install.id);
            steps.push(member);
            members.push(member.id);
            if (node.role === "control-plane") controlPlaneDone = member.id;
        }
    }
    steps.push(
        ...workerUpgradeSteps({
            distribution: "k3s",
            firstControlPlane: first,
            batches: workerBatchesOf(plan),
            controlPlanesDone: [controlPlaneDone],
            ready: (w) => ({ drain: [`${w}-member`], upgrade: steps.filter((s) => s.kind === "copy" && s.runsOn === w).map((s) => s.id) }),
            scripts: (w) => {
                const node = plan.workers.find((x) => x.name === w)!;
                return { node: upgradeNode(plan, node), upgrade: agentUpgradeScript(plan, node) };
            },
        }),
    );
    steps.push({
        kind: "command",
        id: "kubeconfig",
        runsOn: first,
        script: "k3s-kubeconfig",
        create: kubeconfigReadScript(),
        after: [firstInstall],
        // Read again whenever the first server is reinstalled (new certificates).
        triggers: [{ idOf: firstInstall }],
        secret: "stdout",
        silent: true,
        deleteBeforeReplace: false,
    });
    const batches = workerBatchesOf(plan);
    return { steps, kubeconfig: "kubeconfig", apiReady: [firstInstall], nodesJoined: [...installs, ...members], upgraded: (batches.at(-1) ?? []).map((w) => `${w}-uncordon`) };
}

/** What one node's install waits for on its own host: the token file and, air-gapped, the staged files. */
function hostSteps(plan: Plan, node: PlannedNode, airgapImages: string[]): Step[] {
    const n = node.name;
    const token = tokenCreateScript();
    const out: Step[] = [
        {
            kind: "command",
            id: `${n}-token`,
            runsOn: n,
            script: "k3s-token",
            create: token,
            update: token,
            delete: tokenDeleteScript(),
            stdin: { secret: TOKEN_SECRET },
            after: [hostPrepOf(n)],
            secret: "stdin",
            silent: true,
            deleteBeforeReplace: true,
        },
    ];
    if (plan.install.source !== "airgap") return out;
    const stage = airgapStageCreateScript(plan);
    out.push({
        kind: "command",
        id: `${n}-airgap-stage`,
        runsOn: n,
        script: "k3s-airgap-stage",
        create: stage,
        update: stage,
        delete: airgapStageDeleteScript(),
        after: [hostPrepOf(n)],
        deleteBeforeReplace: true,
    });
    for (const file of [AIRGAP_FILES.installer, AIRGAP_FILES.binary, ...airgapImages]) {
        out.push({
            kind: "copy",
            id: `${n}-copy-${file}`,
            runsOn: n,
            source: localFile(plan.install.airgapDir!, file),
            remotePath: `${K3S_PATHS.airgapStage}/${file}`,
            after: [`${n}-airgap-stage`],
            // A changed host alone would not copy again (the provider compares only the asset hash and the path).
            triggers: [node.host],
            deleteBeforeReplace: true,
        });
    }
    return out;
}

/** registries.yaml before the node's install; each waits for the previous node's (one restart at a time). */
function registriesStep(plan: Plan, node: PlannedNode, previous: string | undefined): CommandStep | undefined {
    const content = registriesContent(plan);
    if (content === undefined) return undefined;
    const create = registriesCreateScript(node);
    const secret = registriesAreSecret(plan);
    return {
        kind: "command",
        id: `${node.name}-registries`,
        runsOn: node.name,
        script: "k3s-registries",
        create,
        update: create,
        delete: registriesDeleteScript(node),
        stdin: secret ? { secret: REGISTRIES_SECRET } : { text: content, file: REGISTRIES_FILE },
        after: [hostPrepOf(node.name), ...(previous ? [previous] : [])],
        ...(secret ? { secret: "stdin" as const } : {}),
        deleteBeforeReplace: true,
    };
}

/**
 * Installs k3s (config on stdin); its delete uninstalls and cleans up. A server's update upgrades
 * it too (servers one at a time); an agent's only applies its config: its version is the upgrade
 * step's, so a version change leaves its install (and the parallel join) alone.
 */
function installStep(plan: Plan, node: PlannedNode, after: string[]): CommandStep {
    const n = node.name;
    const install = installScript(plan, node);
    const isFirst = n === plan.firstControlPlane.name;
    const agent = node.role !== "control-plane";
    return {
        kind: "command",
        id: `${n}-install`,
        runsOn: n,
        script: "k3s-install",
        create: install,
        // An agent's update leaves the version to its upgrade steps. Its create is not in
        // ignoreChanges: Pulumi creates a replacement from the ignored properties' old values
        // (pulumi pkg/resource/deploy/step_generator.go processIgnoreChanges), so a replaced agent
        // would come back at the version it first joined with, and its upgrade steps, replaced
        // with it, have no create to move it on.
        update: agent ? agentReconfigureScript(node) : install,
        delete: uninstallScript(node),
        stdin: { text: renderK3sConfig(plan, node), file: K3S_PATHS.config },
        after,
        // Create-only settings replace the node (see config.ts createOnlySettings). Every other node
        // also follows the first server's identity: a new first server is a new cluster that the
        // others must join again from scratch. Because `triggers` takes the first install's id as a
        // property dependency, Pulumi deletes them (agents first) before it replaces the first server.
        triggers: isFirst ? createOnlySettings(plan, node) : [...createOnlySettings(plan, node), { idOf: `${plan.firstControlPlane.name}-install` }],
        deleteBeforeReplace: true,
    };
}

/** On the first server: waits for the node to register; its delete drains and deletes the node. */
function memberStep(plan: Plan, node: PlannedNode, install: string): CommandStep {
    const member = memberCreateScript(plan, node);
    return {
        kind: "command",
        id: `${node.name}-member`,
        runsOn: plan.firstControlPlane.name,
        script: `k3s-member-${node.name}`,
        create: member,
        update: member,
        delete: memberDeleteScript(plan, node),
        after: [install],
        // A property dependency: replacing the node's install first replaces (drains and deletes)
        // its membership, as removing it would.
        triggers: [{ idOf: install }],
        deleteBeforeReplace: true,
    };
}
