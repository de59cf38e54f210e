// Pure renderers of this component's artifacts: the Installation object the cluster receives and
// the tigera-operator chart values, from the same functions the Calico component registers.
// There is no crds-values.yaml: no CRD chart is installed (see values.ts for why).
import type { Artifact } from "../artifacts";
import type { Plan } from "../plan";
import { installationYaml } from "./installation";
import { operatorValuesYaml } from "./values";

export function artifacts(plan: Plan): Artifact[] {
    return [
        { path: "cluster/calico/installation.yaml", content: installationYaml(plan) },
        { path: "cluster/calico/operator-values.yaml", content: operatorValuesYaml(plan) },
    ];
}
