// The dual-stack network plan: validates the whole stack config against the rules Kubernetes,
// k3s, k0s and Calico enforce, and derives the plain data every component consumes.
// Pure: no Pulumi, no I/O. Facts behind the rules: README "Why each rule".
//
// Each rule module (rules/<domain>.ts) takes the parsed config and what earlier rules derived,
// records its problems and returns its part of the plan; this file runs them in order (so one run
// reports every problem) and assembles the Plan once none found an error.
import { bgpRule } from "../calico/bgp-rules";
import { CONFIG_KEYS, NAMESPACE, parseStackConfig, RawConfig, StackConfig } from "../config";
import { dayTwoFindings } from "../daytwo";
import { report } from "../findings";
import { ConfigError, Problem, Problems } from "../problems";
import { assemblePlan } from "./assemble";
import { checkCalico } from "./rules/calico";
import { checkCluster } from "./rules/cluster";
import { checkExposure } from "./rules/exposure";
import { checkNetworks } from "./rules/networks";
import { checkNodes } from "./rules/nodes";
import { checkSsh } from "./rules/ssh";
import { checkVersion } from "./rules/version";

export type { Capacity, FamilyPair, Plan, PlannedNode, Role } from "./types";
export { entryFamily } from "./rules/exposure";
export { deriveIpv6Addresses } from "./rules/nodes";
import type { Plan } from "./types";

/**
 * Validates a parsed config and builds the plan. All problems go into `p`; returns undefined
 * when any error was found.
 */
export function buildPlan(cfg: StackConfig, stackName: string, p: Problems): Plan | undefined {
    const start = p.errors.length;
    const kube = checkVersion(cfg, p);
    checkSsh(cfg, p);
    const nets = checkNetworks(cfg, p);
    const addrs = checkNodes(cfg, nets, p);
    const calico = checkCalico(cfg, nets.pods, p);
    const loadBalancer = checkExposure(cfg, nets.pods, nets.svcs, p);
    checkCluster(cfg, kube, p);
    const { pods, svcs } = nets;
    const cidrs = [pods.ipv4, pods.ipv6, svcs.ipv4, svcs.ipv6].filter((c): c is string => c !== undefined);
    for (const f of dayTwoFindings(cfg, { minor: kube?.minor, primaryFamily: nets.primary, clusterCidrs: cidrs })) report(p, f);
    const bgp = bgpRule(
        {
            calico: cfg.calico,
            serviceCidrs: svcs,
            podCidrIpv6: pods.ipv6,
            loadBalancer,
            metallbAddresses: cfg.metallb.addresses,
            externalIPs: cfg.traefik.externalIPs,
            nodeAddresses: addrs.flatMap((a) => [a.ipv4, a.ipv6].filter((x): x is string => !!x)),
            nodeCount: cfg.nodes.length,
        },
        p,
    );
    if (p.errors.length > start || !kube || !pods.ipv4 || !pods.ipv6 || !svcs.ipv4 || !svcs.ipv6) return undefined;
    return assemblePlan(cfg, stackName, {
        kube,
        nets,
        pods: { ipv4: pods.ipv4, ipv6: pods.ipv6 },
        svcs: { ipv4: svcs.ipv4, ipv6: svcs.ipv6 },
        addrs,
        calico,
        loadBalancer,
        bgp,
    }, p);
}

/** Reads, validates and plans in one go; throws a ConfigError listing every problem. */
export function loadPlan(raw: RawConfig, stackName: string, allKeys: string[] = []): { plan: Plan; config: StackConfig } {
    const problems = new Problems();
    problems.errors.push(...unknownKeys(allKeys));
    const cfg = parseStackConfig(raw, problems);
    const plan = cfg ? buildPlan(cfg, stackName, problems) : undefined;
    problems.throwIfAny();
    if (!plan || !cfg) throw new ConfigError(problems.errors, problems.warnings);
    return { plan, config: cfg };
}

/** Unknown `dualstack:*` keys are usually typos of a documented key. */
export function unknownKeys(allKeys: string[]): Problem[] {
    const known = new Set(CONFIG_KEYS.map((k) => `${NAMESPACE}:${k}`));
    return allKeys
        .filter((k) => k.startsWith(`${NAMESPACE}:`) && !known.has(k))
        .map((k) => ({ key: k, value: "(set)", rule: "is not a dualstack config key", fix: `use one of ${CONFIG_KEYS.join(", ")}` }));
}
