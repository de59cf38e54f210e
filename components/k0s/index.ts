// K0sCluster: k0s dual-stack over SSH. Every string a step runs or writes comes from
// scripts.ts / k0sconfig.ts (the same functions render.ts uses); this file only wires the graph:
//
//   first controller: [binary] -> config -> install -> kubeconfig
//   extra controllers, one at a time: token (on the first) -> [binary] -> config -> install
//   workers, in parallel after the controllers: token (on the first) -> [binary] -> install
//   every node that runs a kubelet: joined (on the first; its delete drains and deletes the Node)
//
// Destroy runs that graph backwards: drain/delete each Node, reset workers, then the controllers
// from the last one to the first.
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { clusterIdentifier, type Cluster, type ClusterArgs } from "../cluster";
import { rewriteKubeconfigServer } from "../kube";
import type { PlannedNode } from "../plan";
import { remoteCommand } from "../shell";
import { createOnlySettings, isSingleNode, k0sYamlSha256, renderK0sYaml, runsKubelet } from "./k0sconfig";
import {
    configRemoveScript,
    configWriteScript,
    drainScript,
    installScript,
    isFirstController,
    joinsWithToken,
    joinWaitScript,
    K0S_STAGED_BIN,
    airgapStageCreateScript,
    airgapStageDeleteScript,
    backupCreateScript,
    backupDeleteScript,
    kubeconfigScript,
    registriesCreateScript,
    registriesDeleteScript,
    registryFiles,
    resetScript,
    tokenCreateScript,
    upgradeScript,
} from "./scripts";

/** The resources of one node, for tests and for anyone who needs to wait on a specific step. */
export interface K0sNodeSteps {
    stage?: command.remote.Command;
    binary?: command.remote.CopyToRemote;
    config?: command.remote.Command;
    token?: command.remote.Command;
    install: command.remote.Command;
    joined?: command.remote.Command;
    /** With dualstack:registries, on nodes that run containerd. */
    registries?: command.remote.Command;
    /** With dualstack:cluster.etcdSnapshots, on controllers. */
    backup?: command.remote.Command;
}

/** Name of the airgap binary inside `install.airgapDir`. */
export const AIRGAP_BINARY_NAME = "k0s";

export class K0sCluster extends pulumi.ComponentResource implements Cluster {
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;
    readonly apiReady: pulumi.Resource[];
    readonly nodesJoined: pulumi.Resource[];
    readonly kubectl = "k0s kubectl";
    readonly steps: Record<string, K0sNodeSteps> = {};
    readonly onNode: Record<string, pulumi.Resource[]> = {};

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:K0sCluster", name, {}, opts);
        const plan = args.plan;
        const run = (body: string) => remoteCommand(body, plan.ssh.sudo);
        const first = plan.firstControlPlane;
        const firstConnection = args.connections[first.name];

        // Registry files before each node's install, one node after the other: a change restarts
        // each node's k0s and waits for it before the next one (never two controllers at once).
        const registries: Record<string, command.remote.Command> = {};
        const files = registryFiles(plan);
        const secretDropIn = files.find((f) => f.secret);
        let previousRegistries: command.remote.Command | undefined;
        for (const node of files.length > 0 ? [...plan.controlPlanes, ...plan.workers].filter((n) => runsKubelet(plan, n)) : []) {
            const prep = args.hostPreps[node.name];
            registries[node.name] = previousRegistries = new command.remote.Command(
                `${name}-${node.name}-registries`,
                {
                    connection: args.connections[node.name],
                    create: run(registriesCreateScript(plan, node)),
                    update: run(registriesCreateScript(plan, node)),
                    delete: run(registriesDeleteScript()),
                    stdin: secretDropIn ? pulumi.secret(secretDropIn.content) : undefined,
                    addPreviousOutputInEnv: false,
                },
                {
                    parent: this,
                    dependsOn: [...(prep ? [prep] : []), ...(previousRegistries ? [previousRegistries] : [])],
                    deleteBeforeReplace: true,
                    additionalSecretOutputs: secretDropIn ? ["stdin"] : [],
                },
            );
        }

        const nodeSteps = (node: PlannedNode, after: pulumi.Resource[], joinVia: pulumi.Resource[]): K0sNodeSteps => {
            const connection = args.connections[node.name];
            if (!connection) throw new Error(`no SSH connection for node ${node.name}`);
            // Create-only settings, readable: a change shows in `pulumi preview --diff` as this
            // value changing on a replace (see README "Replace or update").
            const triggers = createOnlySettings(plan, node);
            const prep = args.hostPreps[node.name];
            const prepared: pulumi.Resource[] = prep ? [prep] : [];
            const steps: Partial<K0sNodeSteps> = {};

            if (plan.install.source === "airgap") {
                steps.stage = new command.remote.Command(
                    `${name}-${node.name}-airgap-stage`,
                    { connection, create: run(airgapStageCreateScript(plan)), delete: run(airgapStageDeleteScript()), addPreviousOutputInEnv: false },
                    { parent: this, dependsOn: prepared, deleteBeforeReplace: true },
                );
                steps.binary = new command.remote.CopyToRemote(
                    `${name}-${node.name}-binary`,
                    {
                        connection,
                        source: new pulumi.asset.FileAsset(path.join(plan.install.airgapDir!, AIRGAP_BINARY_NAME)),
                        remotePath: K0S_STAGED_BIN,
                        // CopyToRemote only re-copies on a changed asset or path; a new host or
                        // version must copy again.
                        triggers: [plan.version, node.host],
                    },
                    { parent: this, dependsOn: [...prepared, steps.stage] },
                );
            }
            let sha: string | undefined;
            if (node.role === "control-plane") {
                const k0sYaml = renderK0sYaml(plan, node);
                sha = k0sYamlSha256(plan, node);
                steps.config = new command.remote.Command(
                    `${name}-${node.name}-config`,
                    {
                        connection,
                        create: run(configWriteScript()),
                        delete: run(configRemoveScript()),
                        stdin: k0sYaml,
                        triggers,
                        addPreviousOutputInEnv: false,
                    },
                    { parent: this, dependsOn: prepared, deleteBeforeReplace: true },
                );
            }
            if (joinsWithToken(plan, node)) {
                steps.token = new command.remote.Command(
                    `${name}-${node.name}-token`,
                    {
                        connection: firstConnection,
                        create: run(tokenCreateScript(plan, node)),
                        // The token is printed: never log it, keep it secret in state, and never
                        // hand it back to a later run through PULUMI_COMMAND_STDOUT (an env value).
                        logging: "none",
                        addPreviousOutputInEnv: false,
                        // Replaced with its node, so a re-created node never gets an expired token.
                        triggers,
                    },
                    { parent: this, dependsOn: joinVia, additionalSecretOutputs: ["stdout"] },
                );
            }
            const install = new command.remote.Command(
                `${name}-${node.name}-install`,
                {
                    connection,
                    create: run(installScript(plan, node, sha)),
                    update: run(upgradeScript(plan, node, sha)),
                    delete: run(resetScript(plan, node)),
                    stdin: steps.token ? pulumi.secret(steps.token.stdout) : undefined,
                    triggers,
                    addPreviousOutputInEnv: false,
                },
                {
                    parent: this,
                    dependsOn: [...prepared, ...after, ...[steps.binary, steps.config, steps.token, registries[node.name]].filter((r): r is command.remote.Command => r !== undefined)],
                    deleteBeforeReplace: true,
                    // A joined node never reads its token again; a new token (e.g. a changed
                    // expiry) must not restart it. A replaced node is created with the new one.
                    ignoreChanges: steps.token ? ["stdin"] : [],
                    // The token is already a secret input; this keeps it secret in state even if
                    // that marking were ever lost on the way.
                    additionalSecretOutputs: steps.token ? ["stdin"] : [],
                },
            );
            steps.install = install;
            if (registries[node.name]) steps.registries = registries[node.name];
            if (node.role === "control-plane" && plan.cluster.etcdSnapshots) {
                steps.backup = new command.remote.Command(
                    `${name}-${node.name}-backup`,
                    { connection, create: run(backupCreateScript(plan)), update: run(backupCreateScript(plan)), delete: run(backupDeleteScript()), addPreviousOutputInEnv: false },
                    { parent: this, dependsOn: [install], deleteBeforeReplace: true },
                );
            }
            return steps as K0sNodeSteps;
        };

        // Controllers one at a time: each joins (and later upgrades) after the previous one.
        let previous: command.remote.Command | undefined;
        let firstInstall: command.remote.Command | undefined;
        for (const node of plan.controlPlanes) {
            const after = previous ? [previous] : [];
            const steps = nodeSteps(node, after, previous ? [firstInstall!, previous] : []);
            if (isFirstController(plan, node)) firstInstall = steps.install;
            previous = steps.install;
            this.steps[node.name] = steps;
        }
        const controllersDone = previous!;
        // Workers in parallel: each waits for the controllers and its own token, not for each other.
        for (const node of plan.workers) {
            // The token is created after the controllers, so it is fresh when the worker joins.
            this.steps[node.name] = nodeSteps(node, [controllersDone], [...new Set([firstInstall!, controllersDone])]);
        }
        // Registration (and readiness with k0s-managed Calico), checked from the first controller;
        // on destroy this step drains and deletes the Node before the node is reset.
        for (const node of plan.nodes.filter((n) => runsKubelet(plan, n))) {
            const steps = this.steps[node.name];
            steps.joined = new command.remote.Command(
                `${name}-${node.name}-joined`,
                {
                    connection: firstConnection,
                    create: run(joinWaitScript(plan, node)),
                    // The first controller's Node goes with the cluster itself.
                    delete: isFirstController(plan, node) ? undefined : run(drainScript(plan, node)),
                    triggers: createOnlySettings(plan, node),
                    addPreviousOutputInEnv: false,
                },
                { parent: this, dependsOn: [steps.install, firstInstall!], deleteBeforeReplace: true },
            );
        }

        const kubeconfigRead = new command.remote.Command(
            `${name}-kubeconfig`,
            {
                connection: firstConnection,
                create: run(kubeconfigScript()),
                logging: "none",
                addPreviousOutputInEnv: false,
                // A rebuilt first controller has a new CA: read the kubeconfig again.
                triggers: createOnlySettings(plan, first),
            },
            { parent: this, dependsOn: [firstInstall!], additionalSecretOutputs: ["stdout"] },
        );
        this.kubeconfig = pulumi.secret(kubeconfigRead.stdout.apply((text) => rewriteKubeconfigServer(text, plan.api.url)));
        this.provider = new k8s.Provider(
            `${name}-k8s`,
            // Fixed identifier: the provider (and every object it manages) is not replaced just
            // because the kubeconfig is unknown during a preview (pulumi-kubernetes#2745).
            { kubeconfig: this.kubeconfig, clusterIdentifier: clusterIdentifier(plan) },
            { parent: this },
        );
        this.apiReady = [firstInstall!];
        // The token and joined steps run on the first controller; config and install on the node.
        for (const n of plan.nodes) {
            const s = this.steps[n.name];
            this.onNode[n.name] = [s.stage, s.config, s.registries, s.install, s.backup].filter((r): r is command.remote.Command => r !== undefined);
        }
        for (const n of plan.nodes) {
            const joined = this.steps[n.name].joined;
            // The first controller's own joined step drains nothing on delete (it has no delete).
            if (joined && n.name !== first.name) this.onNode[first.name].push(joined);
        }
        this.nodesJoined = plan.nodes.flatMap((n) => [this.steps[n.name].install, ...(this.steps[n.name].joined ? [this.steps[n.name].joined!] : [])]);
        this.registerOutputs({
            kubeconfig: this.kubeconfig,
            apiServer: plan.api.url,
            single: isSingleNode(plan),
        });
    }
}
