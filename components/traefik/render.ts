// Pure renderers of this component's artifacts: the same functions the component registers.
import type { Artifact } from "../artifacts";
import type { Plan } from "../plan";
import { ipAddressPool, l2Advertisement, manifestYaml, metallbValuesYaml } from "./metallb";
import { traefikValuesYaml } from "./values";

export function artifacts(plan: Plan): Artifact[] {
    const out: Artifact[] = [{ path: "cluster/traefik/values.yaml", content: traefikValuesYaml(plan) }];
    if (plan.traefik.loadBalancer === "metallb") {
        out.push(
            { path: "cluster/metallb/values.yaml", content: metallbValuesYaml(plan) },
            { path: "cluster/metallb/ipaddresspool.yaml", content: manifestYaml(ipAddressPool(plan)) },
            { path: "cluster/metallb/l2advertisement.yaml", content: manifestYaml(l2Advertisement(plan)) },
        );
    }
    return out;
}
