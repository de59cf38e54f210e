// Helm releases (helm.v3.Release: it previews against a cluster that does not exist yet, where a v4
// Chart fails its Construct; pulumi-notes 4.3). One shape for every chart the program installs.
// Where the chart comes from (upstream, a local .tgz or a mirror) is `dualstack:charts`, checked in
// components/charts.ts before any host is touched.
import { ChartLocation, chartLocation, ChartName, ChartSources } from "./charts";

export interface ChartRef {
    /** Fixed release name, so the stored release Secret's name is deterministic. */
    release: string;
    chart: ChartName;
    /** The upstream repository, used unless `dualstack:charts` names another source. */
    repo: string;
    namespace: string;
}

export interface ReleaseArgs<V> extends ChartLocation {
    name: string;
    version: string;
    namespace: string;
    createNamespace: true;
    values: V;
    timeout: number;
    maxHistory: number;
}

export function releaseArgs<V>(ref: ChartRef, version: string, values: V, sources: ChartSources): ReleaseArgs<V> {
    return {
        name: ref.release,
        ...chartLocation(ref.chart, ref.repo, sources[ref.chart]),
        // Kept for a local file too: Helm ignores it there, charts.ts has checked it matches.
        version,
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
