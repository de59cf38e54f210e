// TEST STAND-INS for the controllers that do not run in the control-plane lab (only etcd and
// kube-apiserver run: test/lab/controlplane.ts). Each plays, against the real API server, exactly
// the part of a controller that the program's own waits depend on; README's table in "A real
// dual-stack API server in the lab" lists them. Nothing here changes what the program does: the
// program still waits as it does on a real cluster, and these finish what a real cluster finishes.
//
// - Tigera operator: writes the Installation's status.calicoVersion (what the program's
//   `pulumi.com/waitFor: jsonpath={.status.calicoVersion}` waits for), as the operator does once
//   Calico of that version is deployed.
// - Garbage collector: removes the `foregroundDeletion` finalizer of an object being deleted in
//   the foreground once it has no dependents (the provider deletes with propagationPolicy
//   Foreground; pulumi-kubernetes pkg/await/await.go). The objects here never have dependents:
//   no controller creates any.
// - Namespace controller: deletes what is left in a Terminating namespace, then removes the
//   `kubernetes` finalizer through the namespace's finalize subresource, as
//   pkg/controller/namespace/deletion does.
import type { ControlPlane } from "./controlplane";
import { CP_DIR } from "./controlplane";
import type { LabHost } from "./harness";

interface Meta {
    name: string;
    namespace?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
}
interface Obj {
    apiVersion: string;
    kind: string;
    metadata: Meta;
    spec?: { finalizers?: string[] };
    status?: { calicoVersion?: string; phase?: string };
}

export interface ControllerStandins {
    /** What the stand-ins did, in order ("operator: status.calicoVersion=v3.32.1 on installation/default", ...). */
    actions: string[];
    /** Errors of single rounds (the next round retries), for failure messages. */
    errors: string[];
    stop(): Promise<void>;
}

/** Namespaced kinds the namespace stand-in empties (what the program, Helm and the check create). */
const NAMESPACED = "all,configmaps,secrets,serviceaccounts,roles,rolebindings,endpoints,events";

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function startControllerStandins(cp: ControlPlane, host: LabHost, o: { calicoVersion?: string; intervalMs?: number; actions?: string[] }): ControllerStandins {
    const actions: string[] = o.actions ?? [];
    const errors: string[] = [];
    let stopped = false;
    let n = 0;

    const list = async (what: string): Promise<Obj[]> => {
        const r = await cp.kubectl(`get ${what} -A -o json`);
        // An unknown kind (the Installation CRD not created yet) is no error for a stand-in.
        if (r.code !== 0) return [];
        return (JSON.parse(r.stdout) as { items: Obj[] }).items;
    };
    const ref = (x: Obj) => `${x.kind.toLowerCase()}/${x.metadata.name}${x.metadata.namespace ? ` -n ${x.metadata.namespace}` : ""}`;
    const run = async (args: string, what: string) => {
        const r = await cp.kubectl(args);
        if (r.code === 0) actions.push(what);
        // A conflict or a vanished object: the next round looks again.
        else errors.push(`${what}: ${r.stderr.trim()}`);
    };

    const round = async () => {
        const installations = o.calicoVersion ? await list("installations.operator.tigera.io") : [];
        for (const i of installations) {
            if (!i.metadata.deletionTimestamp && !i.status?.calicoVersion) {
                const patch = JSON.stringify({ status: { calicoVersion: o.calicoVersion } });
                await run(`patch installation ${q(i.metadata.name)} --subresource=status --type=merge -p ${q(patch)}`, `operator: status.calicoVersion=${o.calicoVersion} on installation/${i.metadata.name}`);
            }
        }
        const namespaces = await list("namespaces");
        const core = await list(NAMESPACED);
        for (const x of [...installations, ...namespaces, ...core]) {
            const f = x.metadata.finalizers ?? [];
            if (x.metadata.deletionTimestamp && f.includes("foregroundDeletion")) {
                const rest = f.filter((y) => y !== "foregroundDeletion");
                const patch = JSON.stringify({ metadata: { finalizers: rest.length ? rest : null } });
                const ns = x.metadata.namespace ? ` -n ${q(x.metadata.namespace)}` : "";
                await run(`patch ${x.kind === "Installation" ? "installations.operator.tigera.io" : x.kind.toLowerCase()} ${q(x.metadata.name)}${ns} --type=merge -p ${q(patch)}`, `garbage collector: foregroundDeletion removed from ${ref(x)}`);
            }
        }
        for (const ns of namespaces.filter((x) => x.status?.phase === "Terminating" && (x.spec?.finalizers ?? []).includes("kubernetes"))) {
            const left = core.filter((x) => x.metadata.namespace === ns.metadata.name && !x.metadata.deletionTimestamp);
            if (left.length > 0) {
                await run(`-n ${q(ns.metadata.name)} delete ${NAMESPACED} --all --wait=false`, `namespace controller: emptied namespace/${ns.metadata.name} (${left.length} objects)`);
                continue;
            }
            if (core.some((x) => x.metadata.namespace === ns.metadata.name)) continue;
            const file = `${CP_DIR}/standins/finalize-${++n}.json`;
            await host.writeFile(file, JSON.stringify({ ...ns, spec: { ...ns.spec, finalizers: (ns.spec?.finalizers ?? []).filter((y) => y !== "kubernetes") } }));
            await run(`replace --raw /api/v1/namespaces/${ns.metadata.name}/finalize -f ${q(file)}`, `namespace controller: finalized namespace/${ns.metadata.name}`);
        }
    };

    const loop = (async () => {
        while (!stopped) {
            try {
                await round();
            } catch (e) {
                errors.push(String(e));
            }
            await new Promise((r) => setTimeout(r, o.intervalMs ?? 500));
        }
    })();

    return {
        actions,
        errors,
        stop: async () => {
            stopped = true;
            await loop;
        },
    };
}
