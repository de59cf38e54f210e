// The K0sCluster's artifacts: each controller's /etc/k0s/k0s.yaml (the config step's stdin) and
// every step script, from the same k0sSteps the component registers.
import type { Artifact } from "../artifacts";
import type { Plan } from "../plan";
import { stepArtifacts } from "../steps";
import { registryFileArtifacts } from "../registries";
import { runsKubelet } from "./k0sconfig";
import { registryFiles } from "./scripts";
import { k0sSteps } from "./steps";

export function artifacts(plan: Plan): Artifact[] {
    const kubelets = plan.nodes.filter((n) => runsKubelet(plan, n)).map((n) => n.name);
    return [...stepArtifacts(k0sSteps(plan).steps), ...registryFileArtifacts(kubelets, registryFiles(plan))];
}
