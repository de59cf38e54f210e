// The K0sCluster's artifacts: each controller's /etc/k0s/k0s.yaml (the config step's stdin) and
// every step script, from the same k0sSteps the component registers.
import type { Artifact } from "../artifacts";
import type { Plan } from "../plan";
import { stepArtifacts } from "../steps";
import { runsKubelet } from "./k0sconfig";
import { registryFiles } from "./scripts";
import { k0sSteps } from "./steps";

export function artifacts(plan: Plan): Artifact[] {
    // The registry files (the drop-in may hold credentials, so it is not plain stdin): written here.
    const files = registryFiles(plan);
    const registries = plan.nodes.filter((n) => runsKubelet(plan, n)).flatMap((n) => files.map((f) => ({ path: `nodes/${n.name}/${f.path.replace(/^\/+/, "")}`, content: f.content })));
    return [...stepArtifacts(k0sSteps(plan).steps), ...registries];
}
