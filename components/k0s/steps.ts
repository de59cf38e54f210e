// The remote steps of a k0s cluster and their order, as plain data (components/steps.ts). Pure.
// K0sCluster registers them (registerSteps), render.ts writes them (stepArtifacts), and the unit
// tests read the order straight from here:
//
//   first controller: [stage -> binary] -> config -> install -> kubeconfig
//   extra controllers, one at a time: token (on the first) -> [binary] -> config -> install
//   workers, in parallel after the controllers: token (on the first) -> [binary] -> install
//   every node that runs a kubelet: joined (on the first; its delete drains and deletes the Node)
//   every worker, in batches of cluster.workerUpgradeBatch (default 10%, at least 1, as k0sctl),
//   batch 1 after the last controller, each batch after the previous batch's uncordons:
//   drain (on the first) -> upgrade -> uncordon (on the first); no-ops unless the version changed
//
// A controller's version is in its install (its update upgrades it, one at a time). A worker's
// install update only reconfigures, and only when its flags changed, so workers join in parallel
// on a first up and a version change moves them in their upgrade steps, one batch at a time
// (batches.ts workerUpgradeSteps); the install still records the new version, so a replaced
// worker is created at the pinned one.
//   with dualstack:registries, every node that runs a kubelet: registries before its install,
//   one node after the other (a mirror change restarts one node at a time)
//   with cluster.etcdSnapshots, every controller: backup (the k0s backup timer) after its install
//
// Unlike k3s, a controller waits for the previous controller's install (k0s' install waits for its
// own API), not for a membership step. Destroy runs the graph backwards: drain/delete each Node,
// reset workers, then the controllers from the last one to the first.
import { K0S_AIRGAP_BINARY } from "../distributions/k0s";
import { workerBatchesOf, workerUpgradeSteps } from "../batches";
import { containerdRegistriesStep } from "../registries";
import type { Plan, PlannedNode } from "../plan";
import { airgapStageSteps, controlPlaneTimerStep, joinSecretsStep, nodeJoinedStep } from "../node-steps";
import { ClusterSteps, CommandStep, hostPrepOf, Step } from "../steps";
import { createOnlySettings, k0sYamlSha256, K0S_CONFIG_PATH, renderK0sYaml, runsKubelet } from "./k0sconfig";
import {
    airgapStageCreateScript,
    airgapStageDeleteScript,
    backupCreateScript,
    backupDeleteScript,
    configRemoveScript,
    configWriteScript,
    drainScript,
    installScript,
    isFirstController,
    joinsWithToken,
    joinWaitScript,
    K0S_STAGED_BIN,
    kubeconfigScript,
    registriesCreateScript,
    registriesDeleteScript,
    registryFiles,
    resetScript,
    tokenCreateScript,
    upgradeNode,
    upgradeScript,
    workerReconfigureScript,
    workerUpgradeScript,
} from "./scripts";

/** The secret input the registries drop-in is read from when it carries credentials. */
export { REGISTRIES_SECRET } from "../registries";

export function k0sSteps(plan: Plan): ClusterSteps {
    const first = plan.firstControlPlane;
    const firstInstall = `${first.name}-install`;
    const steps: Step[] = [];
    let previousRegistries: string | undefined;
    /** The node's registries step (if any), chained after the previous node's. */
    const registries = (node: PlannedNode): string[] => {
        const step = registriesStep(plan, node, previousRegistries);
        if (!step) return [];
        steps.push(step);
        previousRegistries = step.id;
        return [step.id];
    };
    // Controllers one at a time: each joins (and later upgrades) after the previous one.
    let previous: string | undefined;
    for (const node of plan.controlPlanes) {
        const reg = registries(node);
        steps.push(...nodeSteps(plan, node, [...(previous ? [previous] : []), ...reg], previous ? [firstInstall, previous] : []));
        if (plan.cluster.etcdSnapshots) steps.push(backupStep(plan, node));
        previous = `${node.name}-install`;
    }
    const controllersDone = previous!;
    // Workers in batches: each waits for the controllers, its own token and the previous batch.
    // The token is created after the controllers, so it is fresh when the worker joins.
    for (const node of plan.workers) {
        const reg = registries(node);
        steps.push(...nodeSteps(plan, node, [controllersDone, ...reg], [...new Set([firstInstall, controllersDone])]));
    }
    // Registration (and readiness with k0s-managed Calico), checked from the first controller;
    // on destroy this step drains and deletes the Node before the node is reset.
    const kubelets = plan.nodes.filter((n) => runsKubelet(plan, n));
    steps.push(...kubelets.map((node) => joinedStep(plan, node)));
    // The workers' versions: drain, upgrade, uncordon in batches, after every controller.
    steps.push(
        ...workerUpgradeSteps({
            distribution: "k0s",
            firstControlPlane: first.name,
            batches: workerBatchesOf(plan),
            controlPlanesDone: [controllersDone],
            ready: (w) => ({ drain: [`${w}-joined`], upgrade: plan.install.source === "airgap" ? [`${w}-binary`] : [] }),
            scripts: (w) => {
                const node = plan.workers.find((x) => x.name === w)!;
                return { node: upgradeNode(plan, node), upgrade: workerUpgradeScript(plan, node) };
            },
        }),
    );
    steps.push({
        kind: "command",
        id: "kubeconfig",
        runsOn: first.name,
        script: "k0s-kubeconfig",
        create: kubeconfigScript(),
        after: [firstInstall],
        // A rebuilt first controller has a new CA: read the kubeconfig again.
        triggers: createOnlySettings(plan, first),
        secret: "stdout",
        silent: true,
        deleteBeforeReplace: false,
    });
    return {
        steps,
        kubeconfig: "kubeconfig",
        apiReady: [firstInstall],
        nodesJoined: plan.nodes.flatMap((n) => [`${n.name}-install`, ...(runsKubelet(plan, n) ? [`${n.name}-joined`] : [])]),
        upgraded: (workerBatchesOf(plan).at(-1) ?? []).map((w) => `${w}-uncordon`),
    };
}

/** One node's steps up to its install; `after` orders the install, `joinVia` the token. */
function nodeSteps(plan: Plan, node: PlannedNode, after: string[], joinVia: string[]): Step[] {
    const n = node.name;
    // Create-only settings, readable: a change shows in `pulumi preview --diff` as this value
    // changing on a replace (see README "Replace or update").
    const triggers = createOnlySettings(plan, node);
    const out: Step[] = [];
    if (plan.install.source === "airgap") out.push(...airgapSteps(plan, node));
    const sha = node.role === "control-plane" ? k0sYamlSha256(plan, node) : undefined;
    if (node.role === "control-plane") {
        out.push({
            kind: "command",
            id: `${n}-config`,
            runsOn: n,
            script: "k0s-config",
            create: configWriteScript(),
            delete: configRemoveScript(),
            stdin: { text: renderK0sYaml(plan, node), file: K0S_CONFIG_PATH },
            after: [hostPrepOf(n)],
            triggers,
            deleteBeforeReplace: true,
        });
    }
    const token = joinsWithToken(plan, node) ? tokenStep(plan, node, joinVia) : undefined;
    if (token) out.push(token);
    out.push({
        kind: "command",
        id: `${n}-install`,
        runsOn: n,
        script: "k0s-install",
        create: installScript(plan, node, sha),
        // A controller's update upgrades it (one at a time); a worker's only reconfigures it: its
        // version is its upgrade step's, so a version change leaves its install alone.
        update: node.role === "control-plane" ? upgradeScript(plan, node, sha) : workerReconfigureScript(plan, node),
        delete: resetScript(plan, node),
        ...(token ? { stdin: { stdoutOf: token.id } } : {}),
        after: [hostPrepOf(n), ...after, ...out.filter((s) => s.id !== `${n}-airgap-stage`).map((s) => s.id)],
        triggers,
        // Nothing is ignored: Pulumi creates a replacement from ignored properties' old values
        // (pulumi pkg/resource/deploy/step_generator.go processIgnoreChanges), and a replaced node
        // must come back at the pinned version with a token that has not expired. The token step
        // changes only with the node (node-steps.ts joinSecretsStep), so stdin never restarts it.
        // The token is already a secret input; this keeps it secret in state even if that marking
        // were ever lost on the way.
        ...(token ? { secret: "stdin" as const } : {}),
        deleteBeforeReplace: true,
    });
    return out;
}

function airgapSteps(plan: Plan, node: PlannedNode): Step[] {
    return airgapStageSteps({
        distribution: "k0s",
        node: node.name,
        host: node.host,
        version: plan.version,
        airgapDir: plan.install.airgapDir!,
        create: airgapStageCreateScript(plan),
        delete: airgapStageDeleteScript(),
        files: [{ id: "binary", file: K0S_AIRGAP_BINARY, remotePath: K0S_STAGED_BIN }],
    });
}

/** On the first controller: a join token for the node. */
function tokenStep(plan: Plan, node: PlannedNode, joinVia: string[]): CommandStep {
    return joinSecretsStep({ ...onFirst(plan, node), create: tokenCreateScript(plan, node), after: joinVia });
}

/** The registry files before the node's install; each waits for the previous node's (one restart at a time). */
function registriesStep(plan: Plan, node: PlannedNode, previous: string | undefined): CommandStep | undefined {
    const files = registryFiles(plan);
    if (files.length === 0 || !runsKubelet(plan, node)) return undefined;
    return containerdRegistriesStep({
        node: node.name,
        script: "k0s-registries",
        files,
        create: registriesCreateScript(plan, node),
        delete: registriesDeleteScript(node),
        after: [hostPrepOf(node.name), ...(previous ? [previous] : [])],
    });
}

/** The k0s backup timer on a controller, after its install; its delete keeps the archives. */
function backupStep(plan: Plan, node: PlannedNode): CommandStep {
    return controlPlaneTimerStep({ id: "backup", node: node.name, script: "k0s-backup", create: backupCreateScript(plan), delete: backupDeleteScript() });
}

function joinedStep(plan: Plan, node: PlannedNode): CommandStep {
    return nodeJoinedStep({ ...onFirst(plan, node), create: joinWaitScript(plan, node), drain: isFirstController(plan, node) ? undefined : drainScript(plan, node) });
}

const onFirst = (plan: Plan, node: PlannedNode) => ({ distribution: "k0s", node: node.name, firstControlPlane: plan.firstControlPlane.name, triggers: createOnlySettings(plan, node) });
