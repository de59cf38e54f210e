// kubeadm: upstream Kubernetes from the kubeadm, kubelet and kubectl packages of pkgs.k8s.io (or an
// air-gap folder), containerd from the host's own packages (https://kubernetes.io/docs/setup/
// production-environment/tools/kubeadm/). The control plane is static pods the kubelet runs, so
// every node's unit is the kubelet.
import { NAMESPACE, StackConfig } from "../config";
import type { Problems } from "../problems";
import type { DistributionProfile } from "./profile";

/** The air-gap folder's files: the three binaries of the pinned version, named as upstream ships them. */
export const KUBEADM_AIRGAP_BINARIES = ["kubeadm", "kubelet", "kubectl"] as const;

/** An exact upstream release: groups 1-3 are major, minor and patch. */
const TAG = /^v(1)\.(\d+)\.(\d+)$/;

/** kubectl with the admin kubeconfig kubeadm writes on every control plane. */
export const KUBEADM_KUBECTL = "kubectl --kubeconfig /etc/kubernetes/admin.conf";

export const kubeadm: DistributionProfile = {
    name: "kubeadm",
    tag: TAG,
    tagForm: "vMAJOR.MINOR.PATCH",
    exampleTag: "v1.36.3",
    // Dual-stack is GA (always on) since Kubernetes 1.23 (kubernetes.io dual-stack concept page, KEP-563).
    minimum: { minor: 23, patch: 0, tag: "v1.23.0" },
    // Control-plane components are static pods of the kubelet; the kubelet is the only unit.
    serviceUnits: { "control-plane": "kubelet", worker: "kubelet" },
    kubectl: KUBEADM_KUBECTL,
    // No built-in load balancer (no ServiceLB): the Traefik Service waits for none unless asked.
    defaultLoadBalancer: "none",
    airgap: { files: [...KUBEADM_AIRGAP_BINARIES], fix: "put the kubeadm, kubelet and kubectl binaries of the pinned version for the hosts' architecture in it (dl.k8s.io/release/<version>/bin/linux/<arch>/)" },
    containerIPForwarding: "Disabled",
    // Every kubeadm node runs a kubelet; control planes are tainted unless cluster.controllersRunWorkloads.
    controlPlanesAreNodes: "always",
    twoControlPlanesWarning: "two kubeadm control planes (stacked etcd) give no more fault tolerance than one (etcd needs a majority)",
    nodeIpSetting: (node) =>
        `the kubelet on ${node.name} must run with node-ip=${node.nodeIps.join(",")} (kubeadm writes it to /var/lib/kubelet/kubeadm-flags.env from nodeRegistration.kubeletExtraArgs)`,
    dayTwo: {
        // The host's containerd: a drop-in that /etc/containerd/config.toml imports and hosts.toml
        // files under /etc/containerd/certs.d (components/kubeadm/scripts.ts). hosts.toml has no
        // rewrite, and a `*` mirror would need containerd's `_default` host directory instead.
        registries: {
            noWildcard: "a wildcard mirror is a k3s feature; kubeadm's containerd needs one hosts.toml per registry",
            noRewrite: "rewrite is a k3s extension of containerd; containerd's hosts.toml has no such setting",
        },
        // ClusterConfiguration.controlPlaneEndpoint (config.ts): kubeadm writes it into every
        // kubeconfig and cluster-info, so it must reach the first control plane when kubeadm init
        // runs (kubernetes.io "Creating Highly Available Clusters with kubeadm": the load balancer
        // first). The `kubernetes` Service's endpoints are each API server's advertiseAddress (the
        // primary family), not this address, so either family and a DNS name are fine.
        registrationAddress: {},
        // Nothing is downloaded as a bare file to run: kubeadm, kubelet and kubectl are packages of
        // pkgs.k8s.io that apt (signed-by keyring) and dnf (gpgcheck=1) verify against the repository's
        // signing key; air-gapped binaries come from install.airgapDir.
        installSha256: {
            unsupported: {
                rule: "pins downloaded files, and kubeadm downloads none to run: kubeadm, kubelet and kubectl are pkgs.k8s.io packages whose repository signature apt and dnf check before installing",
                fix: "remove dualstack:install.sha256 (the pinned dualstack:version and the repository key already fix what is installed), or use install.source airgap with binaries you checked",
            },
        },
        // Stacked etcd runs on every control plane, one or more: a timer per control plane
        // (snapshots.ts: etcdctl from the etcd image through ctr; nothing downloaded).
        etcdSnapshots: {},
    },
    checkConfig,
};

function checkConfig(cfg: StackConfig, p: Problems): void {
    const m = TAG.exec(cfg.version);
    const minor = m ? Number(m[2]) : undefined;
    // pkgs.k8s.io holds packages from v1.24.0 on; the Google-hosted apt/yum repositories are gone
    // (kubernetes.io blog 2023-08-15 "pkgs.k8s.io: Introducing Kubernetes Community-Owned Package Repositories").
    if (minor !== undefined && minor < 24 && cfg.install.source === "script") {
        p.error(`${NAMESPACE}:version`, cfg.version, "pkgs.k8s.io has kubeadm packages only from v1.24.0 on, and the older Google-hosted repositories are gone", "use v1.24.0 or newer, or install.source airgap with the binaries");
    }
    // The general rule refuses the gate from 1.25 (where it was removed); kubeadm configures
    // dual-stack from podSubnet/serviceSubnet alone, so the gate is refused on every version.
    for (const [group, args] of Object.entries(cfg.cluster.extraArgs) as [string, string[]][]) {
        args.forEach((arg, i) => {
            if (/^feature-gates=(.*,)?IPv6DualStack=/.test(arg) && minor !== undefined && minor < 25) {
                p.error(`${NAMESPACE}:cluster.extraArgs.${group}[${i}]`, arg, "kubeadm needs no dual-stack feature gate: IPv6DualStack is GA and locked on since 1.23 and removed in 1.25, where it stops the component with `unrecognized feature gate`", "remove IPv6DualStack from feature-gates");
            }
        });
    }
    // kubeadm has no kube-proxy flags: kube-proxy reads its KubeProxyConfiguration (which the plan renders).
    cfg.cluster.extraArgs.kubeProxy.forEach((arg, i) => {
        p.error(`${NAMESPACE}:cluster.extraArgs.kubeProxy[${i}]`, arg, "kubeadm runs kube-proxy from a KubeProxyConfiguration and takes no kube-proxy flags", "remove it; the proxy mode is dualstack:cluster.kubeProxyMode");
    });
    if (cfg.cluster.kubeProxyMode === "ipvs" && minor !== undefined && minor >= 35) {
        p.warn(`${NAMESPACE}:cluster.kubeProxyMode`, "ipvs", "kube-proxy's ipvs mode is deprecated since Kubernetes 1.35 (KEP-5495) and kubeadm warns about it", "use nftables (GA since 1.33) or iptables");
    }
    const workers = cfg.nodes.filter((n) => n.role === "worker").length;
    if (!cfg.cluster.controllersRunWorkloads && workers === 0) {
        p.error(`${NAMESPACE}:cluster.controllersRunWorkloads`, false, "kubeadm taints control planes NoSchedule, and this stack has no workers: nothing could run pods", "set it to true or add worker nodes");
    }
    if (cfg.token !== undefined) {
        p.warn(`${NAMESPACE}:token`, "(secret)", "is ignored with kubeadm, whose bootstrap tokens have their own form (generated, kept secret)", "remove it");
    }
}
