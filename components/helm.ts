// Helm releases (helm.v3.Release: it previews against a cluster that does not exist yet, where a v4
// Chart fails its Construct; pulumi-notes 4.3). One shape for every chart the program installs.

export interface ChartRef {
    /** Fixed release name, so the stored release Secret's name is deterministic. */
    release: string;
    chart: string;
    repo: string;
    namespace: string;
}

export interface ReleaseArgs<V> {
    name: string;
    chart: string;
    version: string;
    repositoryOpts: { repo: string };
    namespace: string;
    createNamespace: true;
    values: V;
    timeout: number;
    maxHistory: number;
}

export function releaseArgs<V>(ref: ChartRef, version: string, values: V): ReleaseArgs<V> {
    return {
        name: ref.release,
        chart: ref.chart,
        version,
        repositoryOpts: { repo: ref.repo },
        namespace: ref.namespace,
        createNamespace: true,
        values,
        // Helm waits for the Deployments (and LoadBalancer addresses); a first image pull on a
        // lab host can be slow.
        timeout: 600,
        // Each upgrade leaves a release Secret behind; keep a few for `helm rollback`, not all.
        maxHistory: 5,
    };
}
