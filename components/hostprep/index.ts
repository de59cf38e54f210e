// HostPrep (one per node): facts, the planned global IPv6 address (persisted), forwarding
// sysctls, and a preflight that emulates Calico's IPv6 autodetection over the host's facts.
// Thin wiring: every script comes from scripts.ts, every judgement from facts.ts/autodetect.ts.
// Hosts share nothing, so all HostPreps run in parallel.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "../connection";
import type { Plan, PlannedNode } from "../plan";
import { remoteCommand } from "../shell";
import { factWarnings, preflight, withPlannedAddress } from "./autodetect";
import { HostFacts, parseFacts } from "./facts";
import { hostPrepSteps, StepName } from "./scripts";

export interface HostPrepArgs {
    plan: Plan;
    node: PlannedNode;
    connection: Connection;
}

/**
 * The preflight gate: throws (failing the dependent steps' registration, so nothing on the host
 * changes) when Calico, after the ipv6 step, would not detect exactly the planned address.
 * Empty stdout means no facts are known (a dry run or the mock runtime): nothing to judge.
 */
export function checkHostFacts(plan: Plan, node: PlannedNode, stdout: string): HostFacts | undefined {
    if (!stdout) return undefined;
    const facts = parseFacts(stdout);
    const r = preflight({ host: node.host, node, facts: withPlannedAddress(facts, node), method: plan.autodetection.ipv6Method });
    if (!r.ok) throw new Error(`dualstack preflight: ${r.message}`);
    if (plan.cluster.kubeProxyMode === "ipvs" && facts.ipvsModule === false) {
        throw new Error(
            `dualstack preflight: dualstack:cluster.kubeProxyMode = "ipvs": ${node.name} (${node.host}) has no ip_vs kernel module (not loaded, not built in, modinfo does not find it), so kube-proxy cannot run in ipvs mode. Fix: install the kernel's extra modules (e.g. linux-modules-extra-$(uname -r)) or use nftables or iptables.`,
        );
    }
    return facts;
}

/** Non-fatal findings: missing IPv6 default route, persistence caveats, ambiguous addresses. */
export function hostWarnings(plan: Plan, node: PlannedNode, facts: HostFacts): string[] {
    const after = preflight({ host: node.host, node, facts: withPlannedAddress(facts, node), method: plan.autodetection.ipv6Method });
    return [...factWarnings(node.host, node, facts), ...after.warnings];
}

export class HostPrep extends pulumi.ComponentResource {
    /** calico-node IPv6 autodetection method for this host, e.g. `cidr=fd45:a71:55a6:1::/64` (never first-found). */
    readonly ipv6AutodetectionMethod: pulumi.Output<string>;
    /** Parsed host facts; undefined while unknown (preview) or without facts (mock runtime). */
    readonly facts: pulumi.Output<HostFacts | undefined>;
    /** Non-fatal findings, also logged as warnings on this component. */
    readonly warnings: pulumi.Output<string[]>;
    /** The steps that change the host; the host is prepared once they are created. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: HostPrepArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:HostPrep", name, {}, opts);
        const { plan, node, connection } = args;
        const steps = Object.fromEntries(hostPrepSteps(node).map((s) => [s.name, s])) as Record<StepName, ReturnType<typeof hostPrepSteps>[number]>;
        const cmd = (body: string) => remoteCommand(body, plan.ssh.sudo);

        // Read-only; its stdout is data (also an output), so only stderr is logged.
        const facts = new command.remote.Command(
            `${name}-facts`,
            { connection, create: cmd(steps.facts.create), logging: "stderr", addPreviousOutputInEnv: false },
            { parent: this },
        );

        // Both changing steps wait for the preflight over the facts (a dependsOn Output keeps
        // their inputs known in preview, where the facts are unknown and the gate just passes).
        const gate = facts.stdout.apply((s) => {
            checkHostFacts(plan, node, s);
            return [facts] as pulumi.Resource[];
        });

        const ipv6 = new command.remote.Command(
            `${name}-ipv6`,
            {
                connection,
                create: cmd(steps.ipv6.create),
                delete: cmd(steps.ipv6.delete!),
                // A new address or interface is a replace: the old delete (from state) removes the
                // old address and its persistence before the new one is added.
                triggers: [node.ipv6Cidr, node.interface],
                logging: "stdoutAndStderr",
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: gate, deleteBeforeReplace: true },
        );
        const sysctl = new command.remote.Command(
            `${name}-sysctl`,
            {
                connection,
                create: cmd(steps.sysctl.create),
                delete: cmd(steps.sysctl.delete!),
                logging: "stdoutAndStderr",
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: gate, deleteBeforeReplace: true },
        );
        this.ready = [ipv6, sysctl];

        this.facts = facts.stdout.apply((s) => (s ? parseFacts(s) : undefined));
        this.warnings = facts.stdout.apply((s) => {
            if (!s) return [];
            const w = hostWarnings(plan, node, parseFacts(s));
            for (const m of w) pulumi.log.warn(m, this);
            return w;
        });
        this.ipv6AutodetectionMethod = pulumi.output(plan.autodetection.ipv6Method);
        this.registerOutputs({ ipv6AutodetectionMethod: this.ipv6AutodetectionMethod, facts: this.facts, warnings: this.warnings });
    }
}
