// Plain config objects for unit tests: a valid base and helpers to build plans from it.
import { configSchema, StackConfig } from "../../components/config";
import { buildPlan, Plan } from "../../components/plan";
import { Problems } from "../../components/problems";

export type ConfigInput = Record<string, unknown>;

export function baseConfig(overrides: ConfigInput = {}): ConfigInput {
    return {
        distribution: "k3s",
        version: "v1.33.5+k3s1",
        ssh: { user: "root", privateKeyPath: "/root/.ssh/id_ed25519" },
        nodes: [
            { name: "cp1", host: "192.168.121.135", role: "control-plane", interface: "eth0" },
            { name: "worker1", host: "192.168.121.136", role: "worker", interface: "eth0" },
            { name: "worker2", host: "192.168.121.137", role: "worker", interface: "eth0" },
        ],
        network: {
            nodeIpv6Prefix: "fd45:a71:55a6:1::/64",
            podCidrs: ["10.42.0.0/16", "fd45:a71:55a6:4200::/56"],
            serviceCidrs: ["10.43.0.0/16", "fd45:a71:55a6:43::/112"],
        },
        ...overrides,
    };
}

/** Raw Pulumi config (flat `dualstack:key` -> string) from a config object. */
export function rawConfig(cfg: ConfigInput): Record<string, string> {
    return Object.fromEntries(Object.entries(cfg).map(([k, v]) => [`dualstack:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

export interface PlanAttempt {
    plan?: Plan;
    problems: Problems;
}

/** Shape-checks with the schema, then plans; returns all problems rather than throwing. */
export function tryPlan(cfg: ConfigInput, stackName = "test"): PlanAttempt {
    const problems = new Problems();
    const parsed = configSchema.safeParse(cfg);
    if (!parsed.success) {
        for (const i of parsed.error.issues) problems.error(`dualstack:${i.path.join(".")}`, undefined, i.message, "");
        return { problems };
    }
    return { plan: buildPlan(parsed.data as StackConfig, stackName, problems), problems };
}

/** A plan that must be valid. */
export function planOf(cfg: ConfigInput = baseConfig(), stackName = "test"): Plan {
    const { plan, problems } = tryPlan(cfg, stackName);
    if (!plan) throw new Error(`expected a valid plan, got:\n${problems.errors.map((e) => `${e.key}: ${e.rule}`).join("\n")}`);
    return plan;
}
