// Adapts the pure rules in rules.ts to CrossGuard resource policies. Kept apart from index.ts because
// constructing a PolicyPack starts its gRPC server (@pulumi/policy server.js `serve`), which tests must not do.
import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { DEFAULT_CONFIG, ResourceData, RULES, RuleConfig } from "./rules";

/** The resource as the rules see it: inputs plus the options the engine passes to policies. */
export function resourceData(args: ResourceValidationArgs): ResourceData {
    return {
        type: args.type,
        name: args.name,
        props: args.props,
        opts: { additionalSecretOutputs: args.opts.additionalSecretOutputs, deleteBeforeReplace: args.opts.deleteBeforeReplace },
    };
}

/** Policy config with defaults: the server hands a policy `{}` when `--policy-pack-config` says nothing about it. */
export function ruleConfig(args: Pick<ResourceValidationArgs, "getConfig">): RuleConfig {
    const c = args.getConfig<Partial<RuleConfig>>();
    return { ipv6NatOutgoing: typeof c.ipv6NatOutgoing === "boolean" ? c.ipv6NatOutgoing : DEFAULT_CONFIG.ipv6NatOutgoing };
}

export function dualstackPolicies(): ResourceValidationPolicy[] {
    return RULES.map((rule) => ({
        name: rule.name,
        description: rule.description,
        enforcementLevel: "mandatory",
        ...(rule.name === "calico-ipv6-nat-outgoing"
            ? {
                  configSchema: {
                      properties: {
                          ipv6NatOutgoing: {
                              type: "boolean",
                              default: DEFAULT_CONFIG.ipv6NatOutgoing,
                              description: "Expected NAT outgoing on the Calico IPv6 pool; set it to the stack's dualstack:calico.ipv6NatOutgoing.",
                          },
                      },
                  },
              }
            : {}),
        validateResource: (args, reportViolation) => {
            for (const violation of rule.check(resourceData(args), ruleConfig(args))) reportViolation(violation);
        },
    }));
}
