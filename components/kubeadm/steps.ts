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
//   workers, in batches after the control planes (batches.ts): drain (on the first) -> upgrade -> uncordon
//
// A new version updates the control planes' installs along the same edges: `kubeadm upgrade
// apply` on the first, then `kubeadm upgrade node` on the others one at a time, each upgrading its
// kubelet after its own `kubeadm upgrade`. A worker's install ignores a later version: its drain,
// upgrade and uncordon steps carry it, batch by batch (cluster.workerUpgradeBatch, 10% by
// default), as kubernetes.io "Upgrading kubeadm clusters" upgrades worker nodes (drain, kubeadm
// upgrade node, kubelet, uncordon); they have no create, so a first up runs nothing for them.
// Destroy runs the graph backwards: drain/delete each Node, reset the workers, then the control
// planes from the last to the first.
import { KUBEADM_AIRGAP_BINARIES } from "../distributions/kubeadm";
import type { Plan, PlannedNode } from "../plan";
import { workerBatchesOf, workerUpgradeSteps } from "../batches";
import { ClusterSteps, CommandStep, hostPrepOf, localFile, Step } from "../steps";
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
    upgradeDrainScript,
    upgradeScript,
    upgradeUncordonScript,
    workerInstallUpdateScript,
    workerUpgradeScript,
} from "./scripts";

/** The secret input of the first control plane's init: `token=...` and `certificateKey=...` lines. */
export const CLUSTER_SECRETS = "kubeadmClusterSecrets";

export function kubeadmSteps(plan: Plan): ClusterSteps {
    const first = plan.firstControlPlane;
    const firstInstall = `${first.name}-install`;
    const steps: Step[] = [];
    let previous: string | undefined;
    for (const node of plan.controlPlanes) {
        steps.push(...nodeSteps(plan, node, previous ? [previous] : [], previous ? [firstInstall, previous] : []));
        previous = `${node.name}-install`;
    }
    const controlPlanesDone = previous!;
    // Workers in parallel: each waits for the control planes and its own join secrets only.
    for (const node of plan.workers) steps.push(...nodeSteps(plan, node, [controlPlanesDone], [...new Set([firstInstall, controlPlanesDone])]));
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
                return { drain: upgradeDrainScript(plan, node), upgrade: workerUpgradeScript(plan, node), uncordon: upgradeUncordonScript(plan, node) };
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


/** One node's steps up to its install; `after` orders the install, `joinVia` the join secrets. */
function nodeSteps(plan: Plan, node: PlannedNode, after: string[], joinVia: string[]): Step[] {
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
        // Secrets are read once, at init or join; a re-created token must not restart the node.
        // A worker's create carries the version it joins with; later versions are its upgrade step's.
        ignoreChanges: node.role === "control-plane" ? ["stdin"] : ["stdin", "create"],
        secret: "stdin",
        deleteBeforeReplace: true,
    });
    return out;
}

function airgapSteps(plan: Plan, node: PlannedNode): Step[] {
    const n = node.name;
    return [
        {
            kind: "command",
            id: `${n}-airgap-stage`,
            runsOn: n,
            script: "kubeadm-airgap-stage",
            create: airgapStageCreateScript(plan),
            delete: airgapStageDeleteScript(),
            after: [hostPrepOf(n)],
            deleteBeforeReplace: true,
        },
        ...KUBEADM_AIRGAP_BINARIES.map(
            (b): Step => ({
                kind: "copy",
                id: `${n}-${b}`,
                runsOn: n,
                source: localFile(plan.install.airgapDir!, b),
                remotePath: `${KUBEADM_AIRGAP_STAGE}/${b}`,
                after: [hostPrepOf(n), `${n}-airgap-stage`],
                // CopyToRemote only re-copies on a changed asset or path; a new host or version must copy again.
                triggers: [plan.version, node.host],
                deleteBeforeReplace: false,
            }),
        ),
    ];
}

/** On the first control plane: the node's join secrets, printed (so never logged, kept secret). */
function tokenStep(plan: Plan, node: PlannedNode, joinVia: string[]): CommandStep {
    return {
        kind: "command",
        id: `${node.name}-token`,
        runsOn: plan.firstControlPlane.name,
        script: `kubeadm-token-${node.name}`,
        create: tokenScript(plan, node),
        after: joinVia,
        // Replaced with its node, so a re-created node gets a freshly created token.
        triggers: createOnlySettings(plan, node),
        secret: "stdout",
        silent: true,
        deleteBeforeReplace: false,
    };
}

/** On the first control plane: waits for the Node; its delete drains and deletes it. */
function joinedStep(plan: Plan, node: PlannedNode): CommandStep {
    const first = isFirstControlPlane(plan, node);
    return {
        kind: "command",
        id: `${node.name}-joined`,
        runsOn: plan.firstControlPlane.name,
        script: `kubeadm-joined-${node.name}`,
        create: joinWaitScript(plan, node),
        // The first control plane's Node goes with the cluster itself.
        ...(first ? {} : { delete: drainScript(plan, node) }),
        after: [`${node.name}-install`, `${plan.firstControlPlane.name}-install`],
        triggers: createOnlySettings(plan, node),
        deleteBeforeReplace: true,
    };
}

/** The etcd snapshot timer on a control plane, after its install (etcd runs from then on); its delete keeps the snapshots. */
function snapshotStep(plan: Plan, node: PlannedNode): CommandStep {
    const create = snapshotCreateScript(plan);
    return {
        kind: "command",
        id: `${node.name}-etcd-snapshot`,
        runsOn: node.name,
        script: "kubeadm-etcd-snapshot",
        create,
        update: create,
        delete: snapshotDeleteScript(),
        after: [`${node.name}-install`],
        deleteBeforeReplace: true,
    };
}
