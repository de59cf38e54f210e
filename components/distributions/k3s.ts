// k3s: one binary, servers and agents (https://docs.k3s.io).
import { K3S_INSTALLER } from "../installers";
import type { DistributionProfile } from "./profile";

/** The air-gap folder's files (k3s docs, "Air-Gap Install": install.sh and the k3s binary). */
export const K3S_AIRGAP = { installer: "install.sh", binary: "k3s" } as const;

export const k3s: DistributionProfile = {
    name: "k3s",
    tag: /^v(1)\.(\d+)\.(\d+)(-rc\d+)?\+k3s(\d+)$/,
    tagForm: "vMAJOR.MINOR.PATCH+k3sN",
    exampleTag: "v1.33.5+k3s1",
    minimum: { minor: 23, patch: 7, tag: "v1.23.7+k3s1" },
    // install.sh names the units after the role (k3s.service on servers, k3s-agent.service on agents).
    serviceUnits: { "control-plane": "k3s", worker: "k3s-agent" },
    kubectl: "k3s kubectl",
    defaultLoadBalancer: "servicelb",
    builtInLoadBalancer: "servicelb",
    airgap: { files: [K3S_AIRGAP.installer, K3S_AIRGAP.binary], fix: "put k3s's install.sh and the k3s binary for the hosts' architecture in it" },
    // k3s docs, "Custom CNI": Calico must allow IP forwarding in containers; ServiceLB's svclb pods
    // forward traffic inside their own network namespace.
    containerIPForwarding: "Enabled",
    // Every k3s server also runs an agent.
    controlPlanesAreNodes: "always",
    twoControlPlanesWarning: "two k3s servers give no more fault tolerance than one (etcd needs a majority)",
    nodeIpSetting: (node) => `/etc/rancher/k3s/config.yaml on ${node.name} must say node-ip ${node.nodeIps.join(",")} (the plan writes it; run pulumi up again)`,
    dayTwo: {
        // /etc/rancher/k3s/registries.yaml takes everything, `*` and rewrite included (docs.k3s.io/installation/private-registry).
        registries: {},
        registrationAddress: {},
        // install.sh of the tag; it checks the binary against the release's sha256sum-<arch>.txt itself.
        installSha256: { pinnableFiles: () => [K3S_INSTALLER] },
        etcdSnapshots: {
            // docs.k3s.io/cli/etcd-snapshot: snapshots need embedded etcd (cluster-init, more than one server here).
            minControlPlanes: {
                count: 2,
                rule: "k3s takes etcd snapshots only with embedded etcd, which this stack runs with more than one server; a single server keeps SQLite",
                fix: "add control-plane nodes (three for etcd quorum), or back up /var/lib/rancher/k3s/server yourself",
            },
        },
    },
};
