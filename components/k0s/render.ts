// The K0sCluster's artifacts: each controller's /etc/k0s/k0s.yaml and every step script, from
// the same pure functions the component registers (a test proves they are equal).
import type { Artifact } from "../artifacts";
import type { Plan, PlannedNode } from "../plan";
import { k0sYamlSha256, K0S_CONFIG_PATH, renderK0sYaml, runsKubelet } from "./k0sconfig";
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
    kubeconfigScript,
    registriesCreateScript,
    registriesDeleteScript,
    registryFiles,
    resetScript,
    tokenCreateScript,
    upgradeScript,
} from "./scripts";

function nodeFile(node: PlannedNode, absPath: string, content: string): Artifact {
    return { path: `nodes/${node.name}/${absPath.replace(/^\/+/, "")}`, content };
}

function stepScript(node: PlannedNode, step: string, phase: "create" | "update" | "delete", content: string): Artifact {
    return { path: `nodes/${node.name}/scripts/k0s-${step}-${phase}.sh`, content };
}

export function artifacts(plan: Plan): Artifact[] {
    if (plan.distribution !== "k0s") return [];
    const first = plan.firstControlPlane;
    const out: Artifact[] = [];
    for (const node of plan.nodes) {
        const sha = node.role === "control-plane" ? k0sYamlSha256(plan, node) : undefined;
        if (node.role === "control-plane") {
            out.push(nodeFile(node, K0S_CONFIG_PATH, renderK0sYaml(plan, node)));
            out.push(stepScript(node, "config", "create", configWriteScript()));
            out.push(stepScript(node, "config", "delete", configRemoveScript()));
        }
        if (plan.install.source === "airgap") {
            out.push(stepScript(node, "airgap-stage", "create", airgapStageCreateScript(plan)));
            out.push(stepScript(node, "airgap-stage", "delete", airgapStageDeleteScript()));
        }
        const files = registryFiles(plan);
        if (files.length > 0 && runsKubelet(plan, node)) {
            for (const f of files) out.push(nodeFile(node, f.path, f.content));
            out.push(stepScript(node, "registries", "create", registriesCreateScript(plan, node)));
            out.push(stepScript(node, "registries", "delete", registriesDeleteScript()));
        }
        if (node.role === "control-plane" && plan.cluster.etcdSnapshots) {
            out.push(stepScript(node, "backup", "create", backupCreateScript(plan)));
            out.push(stepScript(node, "backup", "delete", backupDeleteScript()));
        }
        out.push(stepScript(node, "install", "create", installScript(plan, node, sha)));
        out.push(stepScript(node, "install", "update", upgradeScript(plan, node, sha)));
        out.push(stepScript(node, "install", "delete", resetScript(plan, node)));
        // Steps that run on the first controller on behalf of another node live with the first.
        if (joinsWithToken(plan, node)) out.push(stepScript(first, `token-${node.name}`, "create", tokenCreateScript(plan, node)));
        if (runsKubelet(plan, node)) {
            out.push(stepScript(first, `joined-${node.name}`, "create", joinWaitScript(plan, node)));
            if (!isFirstController(plan, node)) out.push(stepScript(first, `joined-${node.name}`, "delete", drainScript(plan, node)));
        }
    }
    out.push(stepScript(first, "kubeconfig", "create", kubeconfigScript()));
    return out;
}
