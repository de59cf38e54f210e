// Pure renderers of the K3sCluster's artifacts: each node's config.yaml (the install step's stdin)
// and every step script, from the same k3sSteps the component registers.
import type { Artifact } from "../artifacts";
import type { Plan } from "../plan";
import { stepArtifacts } from "../steps";
import { registriesContent, REGISTRIES_FILE } from "./scripts";
import { k3sSteps, registriesAreSecret } from "./steps";

export function artifacts(plan: Plan): Artifact[] {
    const registries = registriesContent(plan);
    // A registries.yaml with credentials is a secret input rather than plain stdin: written here.
    const secretFiles = registries !== undefined && registriesAreSecret(plan) ? plan.nodes.map((n) => ({ path: `nodes/${n.name}${REGISTRIES_FILE}`, content: registries })) : [];
    return [...stepArtifacts(k3sSteps(plan).steps), ...secretFiles];
}
