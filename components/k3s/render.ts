// Pure renderers of the K3sCluster's artifacts: each node's config.yaml and every step script,
// from the same k3sSteps the component registers. A step's `update` is its `create` script.
import type { Artifact } from "../artifacts";
import type { Plan } from "../plan";
import { K3S_PATHS, REGISTRIES_FILE } from "./scripts";
import { k3sSteps, Step } from "./steps";

function stepArtifacts(step: Step): Artifact[] {
    const base = `nodes/${step.runsOn}/scripts/k3s-${step.script}`;
    const out: Artifact[] = [{ path: `${base}-create.sh`, content: step.create }];
    if (step.delete !== undefined) out.push({ path: `${base}-delete.sh`, content: step.delete });
    return out;
}

export function artifacts(plan: Plan): Artifact[] {
    const steps = k3sSteps(plan);
    const out: Artifact[] = [];
    for (const s of steps.nodes) {
        out.push({ path: `nodes/${s.node.name}${K3S_PATHS.config}`, content: s.install.config });
        if (s.registries) out.push({ path: `nodes/${s.node.name}${REGISTRIES_FILE}`, content: s.registries.stdin });
        for (const step of [s.airgapStage, s.token, s.registries, s.install, s.member]) {
            if (step) out.push(...stepArtifacts(step));
        }
    }
    out.push(...stepArtifacts(steps.kubeconfig));
    return out;
}
