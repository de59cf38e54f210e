// The remote steps of a kubeadm cluster and their order, as plain data (components/steps.ts). Pure.
// KubeadmCluster registers them (registerSteps), render.ts writes them (stepArtifacts), and the
// unit tests read the order straight from here:
//
//   every node: prep (containerd, modules, sysctls, swap, repository) and config (its documents)
//   first control plane: [stage -> binaries] -> install (kubeadm init) -> kubeconfig
//   further control planes, one at a time: token (on the first) -> install (kubeadm join)
//   workers, in parallel after the control planes: token (on the first) -> install (kubeadm join)
//   every node: joined (on the first control plane; its delete drains and deletes the Node)
//   with cluster.etcdSnapshots, every control plane: snapshot (the etcd snapshot timer) after its install
//   with dualstack:registries, every node: registries after its prep and before its install, one
//   node after the other, control planes first (a mirror change restarts containerd one node at a time)
//   workers, in batches after the control planes (batches.ts): drain (on the first) -> upgrade -> uncordon
//
// A new version updates the control planes' installs along the same edges: `kubeadm upgrade
// apply` on the first, then `kubeadm upgrade node` on the others one at a time, each upgrading its
// kubelet after its own `kubeadm upgrade`. A worker's install update changes nothing: its drain,
// upgrade and uncordon steps carry the version, batch by batch (cluster.workerUpgradeBatch, 10% by
// default), as kubernetes.io "Upgrading kubeadm clusters" upgrades worker nodes (drain, kubeadm
// upgrade node, kubelet, uncordon); they have no create, so a first up runs nothing for them.
// Destroy runs the graph backwards: drain/delete each Node, reset the workers, then the control
// planes from the last to the first.
import { KUBEADM_AIRGAP_BINARIES } from "../distributions/kubeadm";
import type { Plan, PlannedNode } from "../plan";
import { workerBatchesOf, workerUpgradeSteps } from "../batches";
import { airgapStageSteps, controlPlaneTimerStep, joinSecretsStep, nodeJoinedStep } from "../node-steps";
import { ClusterSteps, CommandStep, hostPrepOf, Step } from "../steps";
import { createOnlySettings, isFirstControlPlane, KUBEADM_CONFIG_PATH, renderKubeadmConfig } from "./config";
import {
    airgapStageCreateScript,
    airgapStageDeleteScript,
    configRemoveScript,
    configWriteScript,
    drainScript,
    initScript,
    joinScript,
    joinWaitScript,
    KUBEADM_AIRGAP_STAGE,
    kubeconfigScript,
    prepCreateScript,
    prepDeleteScript,
    resetScript,
    snapshotCreateScript,
    snapshotDeleteScript,
    tokenScript,
    upgradeNode,
    upgradeScript,
    workerInstallUpdateScript,
    workerUpgradeScript,
} from "./scripts";
import { containerdRegistriesStep } from "../registries";
import { registriesCreateScript, registriesDeleteScript, registryFiles } from "./registries";

/** The secret input of the first control plane's init: `token=...` and `certificateKey=...` lines. */
export const CLUSTER_SECRETS = "kubeadmClusterSecrets";

/** The secret input the registries drop-in is read from when it carries credentials. */
export { REGISTRIES_SECRET } from "../registries";

export function kubeadmSteps(plan: Plan): ClusterSteps {
    const first = plan.firstControlPlane;
    const firstInstall = `${first.name}-install`;
    const steps: Step[] = [];
    // Registries steps (with dualstack:registries) are chained over every node in this order, so a
    // mirror change restarts containerd one node at a time, control planes first.
    let previousRegistries: string | undefined;
    const push = (node: PlannedNode, after: string[], joinVia: string[]) => {
        const out = nodeSteps(plan, node, after, joinVia, previousRegistries);
        steps.push(...out);
        previousRegistries = out.find((st) => st.id === `${node.name}-registries`)?.id ?? previousRegistries;
    };
    let previous: string | undefined;
    for (const node of plan.controlPlanes) {
        push(node, previous ? [previous] : [], previous ? [firstInstall, previous] : []);
        previous = `${node.name}-install`;
    }
    const controlPlanesDone = previous!;
    // Workers in parallel: each waits for the control planes and its own join secrets only.
    for (const node of plan.workers) push(node, [controlPlanesDone], [...new Set([firstInstall, controlPlanesDone])]);
    steps.push(...plan.nodes.map((node) => joinedStep(plan, node)));
    const batches = workerBatchesOf(plan);
    steps.push(
        ...workerUpgradeSteps({
            distribution: "kubeadm",
            firstControlPlane: first.name,
            batches,
            controlPlanesDone: [controlPlanesDone],
            // The prep step moves the package repository on a minor bump; air-gapped binaries are copied again.
            ready: (w) => ({ drain: [`${w}-joined`], upgrade: [`${w}-prep`, ...(plan.install.source === "airgap" ? KUBEADM_AIRGAP_BINARIES.map((b) => `${w}-${b}`) : [])] }),
            scripts: (w) => {
                const node = plan.workers.find((n) => n.name === w)!;
                return { node: upgradeNode(plan, node), upgrade: workerUpgradeScript(plan, node) };
            },
        }),
    );
    if (plan.cluster.etcdSnapshots) steps.push(...plan.controlPlanes.map((node) => snapshotStep(plan, node)));
    steps.push({
        kind: "command",
        id: "kubeconfig",
        runsOn: first.name,
        script: "kubeadm-kubeconfig",
        create: kubeconfigScript(),
        after: [firstInstall],
        // A rebuilt first control plane has a new CA: read the kubeconfig again.
        triggers: createOnlySettings(plan, first),
        secret: "stdout",
        silent: true,
        deleteBeforeReplace: false,
    });
    return {
        steps,
        kubeconfig: "kubeconfig",
        apiReady: [firstInstall],
        nodesJoined: plan.nodes.flatMap((n) => [`${n.name}-install`, `${n.name}-joined`]),
        upgraded: (batches.at(-1) ?? []).map((w) => `${w}-uncordon`),
    };
}

/** One node's steps up to its install; `after` orders the install, `joinVia` the join secrets, `previousRegistries` its registries step. */
function nodeSteps(plan: Plan, node: PlannedNode, after: string[], joinVia: string[], previousRegistries: string | undefined): Step[] {
    const n = node.name;
    const triggers = createOnlySettings(plan, node);
    const out: Step[] = [];
    out.push({
        kind: "command",
        id: `${n}-prep`,
        runsOn: n,
        script: "kubeadm-prep",
        create: prepCreateScript(plan, node),
        delete: prepDeleteScript(),
        after: [hostPrepOf(n)],
        deleteBeforeReplace: true,
    });
    const registries = registriesStep(plan, node, previousRegistries);
    if (registries) out.push(registries);
    if (plan.install.source === "airgap") out.push(...airgapSteps(plan, node));
    out.push({
        kind: "command",
        id: `${n}-config`,
        runsOn: n,
        script: "kubeadm-config",
        create: configWriteScript(),
        delete: configRemoveScript(),
        stdin: { text: renderKubeadmConfig(plan, node), file: KUBEADM_CONFIG_PATH },
        after: [hostPrepOf(n)],
        triggers,
        deleteBeforeReplace: true,
    });
    const first = isFirstControlPlane(plan, node);
    const token = first ? undefined : tokenStep(plan, node, joinVia);
    if (token) out.push(token);
    out.push({
        kind: "command",
        id: `${n}-install`,
        runsOn: n,
        script: first ? "kubeadm-init" : "kubeadm-join",
        create: first ? initScript(plan, node) : joinScript(plan, node),
        // A control plane's update upgrades it (one at a time); a worker's version is its upgrade step's.
        update: node.role === "control-plane" ? upgradeScript(plan, node) : workerInstallUpdateScript(node),
        delete: resetScript(plan, node),
        stdin: token ? { stdoutOf: token.id } : { secret: CLUSTER_SECRETS },
        after: [hostPrepOf(n), ...after, ...out.filter((s) => s.id !== `${n}-airgap-stage`).map((s) => s.id)],
        triggers,
        // Secrets are read once, at init or join; a re-created token must not restart the node (the
        // token and CA hash stay the same values: tokenScript re-creates the stack's own token).
        // A worker's create is not ignored: a replacement is created from ignored properties' old
        // values (pulumi step_generator.go processIgnoreChanges), and must join at the pinned
        // version; its update changes nothing, so a version change leaves the node to its upgrade steps.
        ignoreChanges: ["stdin"],
        secret: "stdin",
        deleteBeforeReplace: true,
    });
    return out;
}

function airgapSteps(plan: Plan, node: PlannedNode): Step[] {
    return airgapStageSteps({
        distribution: "kubeadm",
        node: node.name,
        host: node.host,
        version: plan.version,
        airgapDir: plan.install.airgapDir!,
        create: airgapStageCreateScript(plan),
        delete: airgapStageDeleteScript(),
        files: KUBEADM_AIRGAP_BINARIES.map((b) => ({ id: b, file: b, remotePath: `${KUBEADM_AIRGAP_STAGE}/${b}` })),
    });
}

/**
 * The registry files after the node's prep (containerd and its config.toml) and before its install;
 * each waits for the previous node's, so containerd restarts one node at a time.
 */
function registriesStep(plan: Plan, node: PlannedNode, previous: string | undefined): CommandStep | undefined {
    const files = registryFiles(plan);
    if (files.length === 0) return undefined;
    return containerdRegistriesStep({
        node: node.name,
        script: "kubeadm-registries",
        files,
        create: registriesCreateScript(plan, node),
        delete: registriesDeleteScript(plan, node),
        after: [hostPrepOf(node.name), `${node.name}-prep`, ...(previous ? [previous] : [])],
    });
}

/** On the first control plane: the node's join secrets (token, CA hash, certificate key for a control plane). */
function tokenStep(plan: Plan, node: PlannedNode, joinVia: string[]): CommandStep {
    return joinSecretsStep({ ...onFirst(plan, node), create: tokenScript(plan, node), after: joinVia });
}

function joinedStep(plan: Plan, node: PlannedNode): CommandStep {
    return nodeJoinedStep({ ...onFirst(plan, node), create: joinWaitScript(plan, node), drain: isFirstControlPlane(plan, node) ? undefined : drainScript(plan, node) });
}

const onFirst = (plan: Plan, node: PlannedNode) => ({ distribution: "kubeadm", node: node.name, firstControlPlane: plan.firstControlPlane.name, triggers: createOnlySettings(plan, node) });

/** The etcd snapshot timer on a control plane, after its install (etcd runs from then on); its delete keeps the snapshots. */
function snapshotStep(plan: Plan, node: PlannedNode): CommandStep {
    return controlPlaneTimerStep({ id: "etcd-snapshot", node: node.name, script: "kubeadm-etcd-snapshot", create: snapshotCreateScript(plan), delete: snapshotDeleteScript() });
}
