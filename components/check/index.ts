// The last step of `pulumi up`: proves the cluster is really dual-stack. One remote command on
// the first control plane collects raw evidence with the distribution's kubectl (scripts.ts);
// judge.ts turns it into the report; a failed check fails the deployment with the judged message.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "../connection";
import type { Plan } from "../plan";
import { remoteCommand } from "../shell";
import { failureMessage, judgeOutput, Report } from "./judge";
import { cleanupScript, collectorScript } from "./scripts";

export interface DualStackCheckArgs {
    plan: Plan;
    /** Connection to the first control-plane node, where the distribution's kubectl runs. */
    connection: Connection;
    /** `k3s kubectl` or `k0s kubectl`. */
    kubectl: string;
    /** Everything else in the stack: the check runs last. */
    dependsOn: pulumi.Resource[];
}

/** What the run trigger reads in a preview: the value is only decided by `pulumi up`. */
export const PREVIEW_RUN_MARKER = "decided by the next pulumi up";

/**
 * The trigger that re-runs the check. A remote.Command runs only when its inputs change, and
 * `triggers` changes replace it (the SDK sets replaceOnChanges on them), so a value new on every
 * `pulumi up` makes every up run the check again. A preview gets a fixed marker: previews stay
 * byte-identical for the same config, and show the check as the one resource `up` will replace.
 */
export function runTrigger(dryRun: boolean, now: Date, everyUp = true): string {
    if (!everyUp) return ON_CHANGE_MARKER;
    return dryRun ? PREVIEW_RUN_MARKER : now.toISOString();
}

/** With checks.rerunEveryUp false the trigger never changes: the check re-runs only when its script does. */
export const ON_CHANGE_MARKER = "runs when the check's inputs change";

/** Bounded like the check itself, plus room for the probe cleanup and SSH. */
export function createTimeout(plan: Plan): string {
    return `${plan.checks.timeoutSeconds + 300}s`;
}

export class DualStackCheck extends pulumi.ComponentResource {
    /** JSON report, one entry per check; resolves also when a check failed. */
    readonly report: pulumi.Output<string>;
    /** "passed" or "failed". */
    readonly result: pulumi.Output<"passed" | "failed">;
    /** The collector command, whose stdout is the raw evidence. */
    readonly run: command.remote.Command;
    /** Faults with the judged message when a check failed, which fails the deployment. */
    readonly verdict: pulumi.Output<"passed" | "failed">;

    constructor(name: string, args: DualStackCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:DualStackCheck", name, {}, opts);
        const { plan, kubectl } = args;

        this.run = new command.remote.Command(
            `${name}-run`,
            {
                connection: args.connection,
                create: remoteCommand(collectorScript(plan, kubectl), plan.ssh.sudo),
                delete: remoteCommand(cleanupScript(kubectl), plan.ssh.sudo),
                triggers: [runTrigger(pulumi.runtime.isDryRun(), new Date(), plan.checks.rerunEveryUp)],
                // stdout is the (large) JSON evidence: kept as an output, not printed. stderr is
                // the collector's progress ("waiting for node worker1 Ready").
                logging: "stderr",
                addPreviousOutputInEnv: false,
            },
            {
                parent: this,
                dependsOn: args.dependsOn,
                customTimeouts: { create: createTimeout(plan), update: createTimeout(plan), delete: "5m" },
            },
        );

        const judged: pulumi.Output<Report> = pulumi
            .all([this.run.stdout, this.run.stderr])
            .apply(([stdout, stderr]) => judgeOutput(stdout, stderr, plan, kubectl));
        this.report = judged.apply((r) => JSON.stringify(r, null, 2));
        this.result = judged.apply((r) => r.result);

        // A failed check fails `pulumi up`, while the report above stays intact (it is the stack
        // output with the evidence). A fault in an Output surfaces as an unhandled rejection, which
        // the Node runtime turns into a failed program (cmd/run: uncaughtHandler); a ResourceError
        // with hideStack is printed as just its message, attached to this component. Registering
        // it as an output instead would prefix the message with `error serializing property`.
        // In a preview stdout is unknown and nothing is judged.
        this.verdict = judged.apply((r) => {
            if (r.result === "failed") throw new pulumi.ResourceError(failureMessage(r), this, true);
            void pulumi.log.info(`dual-stack check passed: ${r.summary}`, this);
            return r.result;
        });

        this.registerOutputs({ report: this.report, result: this.result });
    }
}
