// Pure renderers of the K3sCluster's artifacts: each node's config.yaml (the install step's stdin)
// and every step script, from the same k3sSteps the component registers.
import type { Artifact } from "../artifacts";
import type { Plan } from "../plan";
import { stepArtifacts } from "../steps";
import { k3sSteps } from "./steps";

export function artifacts(plan: Plan): Artifact[] {
    return stepArtifacts(k3sSteps(plan).steps);
}
