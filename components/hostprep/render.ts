// Pure renderers of host preparation's artifacts: the step scripts (exactly the bodies the
// component runs through `remoteCommand`) and the files they may place on each host. Only one of
// the persistence files is placed on a host, chosen at run time from its network manager.
import type { Artifact } from "../artifacts";
import type { Plan } from "../plan";
import { hostPrepSteps, persistenceFiles, SYSCTL_FILE, sysctlDropIn } from "./scripts";

export function artifacts(plan: Plan): Artifact[] {
    return plan.nodes.flatMap((node) => {
        const dir = `nodes/${node.name}`;
        const scripts = hostPrepSteps(node).flatMap((s) => [
            { path: `${dir}/scripts/${s.name}-create.sh`, content: s.create },
            ...(s.delete !== undefined ? [{ path: `${dir}/scripts/${s.name}-delete.sh`, content: s.delete }] : []),
        ]);
        const files = [
            ...persistenceFiles(node).map((f) => ({ path: `${dir}${f.path}`, content: f.content })),
            { path: `${dir}${SYSCTL_FILE}`, content: sysctlDropIn(node) },
        ];
        return [...scripts, ...files];
    });
}
