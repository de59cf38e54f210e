// The KubeadmCluster's artifacts: each node's kubeadm config (the config step's stdin, secrets as
// placeholders), every step script, from the same kubeadmSteps the component registers, and the
// registry files (the drop-in may hold credentials, so it is not plain stdin).
import type { Artifact } from "../artifacts";
import type { Plan } from "../plan";
import { registryFileArtifacts } from "../registries";
import { stepArtifacts } from "../steps";
import { registryFiles } from "./registries";
import { kubeadmSteps } from "./steps";

export function artifacts(plan: Plan): Artifact[] {
    return [...stepArtifacts(kubeadmSteps(plan).steps), ...registryFileArtifacts(plan.nodes.map((n) => n.name), registryFiles(plan))];
}
