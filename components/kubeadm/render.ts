// The KubeadmCluster's artifacts: each node's kubeadm config (the config step's stdin, secrets as
// placeholders) and every step script, from the same kubeadmSteps the component registers.
import type { Artifact } from "../artifacts";
import type { Plan } from "../plan";
import { stepArtifacts } from "../steps";
import { kubeadmSteps } from "./steps";

export function artifacts(plan: Plan): Artifact[] {
    return stepArtifacts(kubeadmSteps(plan).steps);
}
