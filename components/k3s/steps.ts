// The remote steps of a k3s cluster and their order, as plain data (components/steps.ts): which node
// runs what, after what. Pure. K3sCluster registers them (registerSteps), render.ts writes them
// (stepArtifacts), and the unit tests read the order straight from here.
//
// Every install(n) also waits for hostPrep(n), token(n) and, air-gapped, the copies to n; each
// member(n) runs on the first server:
//
//   install(server 1) ─┬─ install(server 2) ── member(server 2) ── install(server 3) ── member(server 3) ─┐
//                      ├─ kubeconfig                                                                     │
//                      └─────────────────────────────────────────────────────────────────────────────────┴─ install(agent i) ── member(agent i)
//                                                                                                           (all agents in parallel)
// - Servers join one at a time: each waits for the previous one to answer /readyz and register
//   (etcd membership changes one by one).
// - Agents wait for the whole control plane, not for each other: the critical path grows with the
//   number of servers only. Waiting for all servers (not only the first) is what makes the same
//   graph give the other two orders: an upgrade updates servers one at a time and only then agents
//   (kubelets never newer than an API server, Kubernetes' skew policy), and destroy removes agents
//   first, then the extra servers newest first, then the first server.
// - member(n) runs on the first server: its create waits until n registered with the pinned
//   kubelet version, its delete drains and deletes n while the API is up. It depends on install(n),
//   so it is deleted (drain) before install(n) is (uninstall), also when only n leaves the stack.
import type { Plan, PlannedNode } from "../plan";
import { ClusterSteps, CommandStep, hostPrepOf, localFile, Step } from "../steps";
import { createOnlySettings, renderK3sConfig } from "./config";
import {
    AIRGAP_FILES,
    airgapStageCreateScript,
    airgapStageDeleteScript,
    installScript,
    K3S_PATHS,
    kubeconfigReadScript,
    memberCreateScript,
    memberDeleteScript,
    tokenCreateScript,
    tokenDeleteScript,
    uninstallScript,
} from "./scripts";

/** The secret input the token steps read on stdin (K3sCluster passes the join token under it). */
export const TOKEN_SECRET = "token";

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
    for (const node of [...plan.controlPlanes, ...plan.workers]) {
        const n = node.name;
        const isFirst = n === first;
        const ready = hostSteps(plan, node, airgapImages);
        steps.push(...ready);
        const order = isFirst ? [] : node.role === "control-plane" ? [controlPlaneDone] : [...new Set([firstInstall, controlPlaneDone])];
        const copies = ready.filter((s) => s.kind === "copy").map((s) => s.id);
        const install = installStep(plan, node, [hostPrepOf(n), `${n}-token`, ...copies, ...order]);
        steps.push(install);
        installs.push(install.id);
        if (!isFirst) {
            const member = memberStep(plan, node, install.id);
            steps.push(member);
            members.push(member.id);
            if (node.role === "control-plane") controlPlaneDone = member.id;
        }
    }
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
    return { steps, kubeconfig: "kubeconfig", apiReady: [firstInstall], nodesJoined: [...installs, ...members] };
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

/** Installs or upgrades k3s (config on stdin); its delete uninstalls and cleans up. */
function installStep(plan: Plan, node: PlannedNode, after: string[]): CommandStep {
    const n = node.name;
    const install = installScript(plan, node);
    const isFirst = n === plan.firstControlPlane.name;
    return {
        kind: "command",
        id: `${n}-install`,
        runsOn: n,
        script: "k3s-install",
        create: install,
        update: install,
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
