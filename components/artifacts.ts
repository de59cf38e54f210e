// A rendered artifact: a file the program puts on a host or into the cluster. The render
// command writes them to out/<stack>/<path>; components register the same strings.
export interface Artifact {
    /** Path below out/<stack>/, e.g. `nodes/cp1/etc/rancher/k3s/config.yaml`. */
    path: string;
    content: string;
}
