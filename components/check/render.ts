// Pure renderers of the dual-stack check's artifacts: the collector the check-run command runs on
// the first control plane (and its delete), and the probe manifests it applies.
import type { Artifact } from "../artifacts";
import type { Plan } from "../plan";
import { cleanupScript, collectorScript, defaultKubectl, namespaceManifest, probePodsManifest, probeServiceManifest } from "./scripts";

export function artifacts(plan: Plan): Artifact[] {
    const cp = plan.firstControlPlane.name;
    const kubectl = defaultKubectl(plan);
    return [
        { path: `nodes/${cp}/scripts/dualstack-check.sh`, content: collectorScript(plan, kubectl) },
        { path: `nodes/${cp}/scripts/dualstack-check-delete.sh`, content: cleanupScript(kubectl) },
        { path: "cluster/check/namespace.yaml", content: namespaceManifest() },
        { path: "cluster/check/probe-pods.yaml", content: probePodsManifest(plan) },
        { path: "cluster/check/probe-service.yaml", content: probeServiceManifest(plan) },
    ];
}
