// Install source, extra component arguments, token expiry, kube-proxy mode, the distribution's own
// rules (its profile's checkConfig) and the dual-stack check's settings.
import { NAMESPACE, StackConfig } from "../../config";
import { familyOfAddress } from "../../net";
import { profileOf } from "../../distributions";
import type { Problems } from "../../problems";
import type { Plan } from "../types";

// No spaces: k0s splits --kubelet-extra-args on spaces, and every value reaches a shell (quoted).
const EXTRA_ARG = /^[a-z0-9][a-z0-9-]*=[A-Za-z0-9_.,:=/+@%-]*$/;
const IMAGE_REF = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const DURATION = /^[0-9]+(s|m|h)$/;

/** Flags the plan sets itself: a user value would contradict the plan, so it is refused. */
const PLANNED_ARGS: Record<string, string> = {
    "cluster-cidr": "dualstack:network.podCidrs",
    "service-cluster-ip-range": "dualstack:network.serviceCidrs",
    "node-ip": "dualstack:nodes[*].ipv4/ipv6",
    "node-cidr-mask-size-ipv4": "dualstack:network.nodeCidrMaskSizes.ipv4",
    "node-cidr-mask-size-ipv6": "dualstack:network.nodeCidrMaskSizes.ipv6",
    "hostname-override": "dualstack:nodes[*].name",
};

export function checkCluster(cfg: StackConfig, kube: Plan["kubernetes"] | undefined, p: Problems): void {
    if (cfg.install.source === "airgap" && !cfg.install.airgapDir) {
        p.error(`${NAMESPACE}:install.airgapDir`, undefined, "is required with install.source airgap", "point it at a local folder holding the install script and binary");
    }
    if (cfg.install.source === "script" && cfg.install.airgapDir) {
        p.warn(`${NAMESPACE}:install.airgapDir`, cfg.install.airgapDir, "is ignored with install.source script", "remove it or set install.source: airgap");
    }
    checkExtraArgs(cfg, kube?.minor, p);
    if (!DURATION.test(cfg.cluster.tokenExpiry)) {
        p.error(`${NAMESPACE}:cluster.tokenExpiry`, cfg.cluster.tokenExpiry, "is not a duration like 30m or 1h", "use e.g. 1h");
    }
    if (cfg.cluster.kubeProxyMode === "nftables" && kube && kube.minor < 31) {
        p.error(`${NAMESPACE}:cluster.kubeProxyMode`, "nftables", "kube-proxy's nftables mode is beta only from Kubernetes 1.31", "use iptables or ipvs, or a newer version");
    }
    profileOf(cfg.distribution).checkConfig?.(cfg, p);
    if (!IMAGE_REF.test(cfg.checks.probeImage)) {
        p.error(`${NAMESPACE}:checks.probeImage`, cfg.checks.probeImage, "is not an image reference", "use e.g. busybox:1.37.0");
    }
    if (cfg.checks.egressTarget !== undefined && familyOfAddress(cfg.checks.egressTarget) !== "IPv6") {
        p.error(`${NAMESPACE}:checks.egressTarget`, cfg.checks.egressTarget, "must be an IPv6 address (it proves IPv6 NAT outgoing)", "give an IPv6 address outside the cluster, e.g. your router's");
    }
}

function checkExtraArgs(cfg: StackConfig, minor: number | undefined, p: Problems): void {
    const groups = cfg.cluster.extraArgs;
    for (const [group, args] of Object.entries(groups) as [string, string[]][]) {
        args.forEach((arg, i) => {
            const key = `${NAMESPACE}:cluster.extraArgs.${group}[${i}]`;
            if (!EXTRA_ARG.test(arg)) {
                p.error(key, arg, "must be key=value without leading dashes, using only letters, digits and _.,:=/+@%-", "write e.g. v=2 or max-pods=150");
                return;
            }
            const [name, value] = [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)];
            if (name === "feature-gates" && /(^|,)IPv6DualStack=/.test(value) && (minor === undefined || minor >= 25)) {
                p.error(key, arg, "the IPv6DualStack feature gate was removed in Kubernetes 1.25; passing it stops the component with `unrecognized feature gate`", "remove IPv6DualStack: dual-stack is always on");
            }
            if (name === "node-cidr-mask-size") {
                p.error(key, arg, "kube-controller-manager refuses --node-cidr-mask-size in a dual-stack cluster", "set dualstack:network.nodeCidrMaskSizes.ipv4/ipv6 instead");
            }
            if (PLANNED_ARGS[name]) {
                p.error(key, arg, `the plan sets ${name} itself`, `set ${PLANNED_ARGS[name]} instead`);
            }
        });
    }
}
