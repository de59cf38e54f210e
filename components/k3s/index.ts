// K3sCluster: a dual-stack k3s cluster on prepared hosts, over SSH. Thin wiring: every string a
// command runs comes from steps.ts (scripts.ts, config.ts), the same functions render.ts uses.
//
// The resource graph carries the order (Pulumi runs creates in dependency order and deletes in
// the reverse order). Every install(n) also waits for hostPrep(n), token(n) and, air-gapped, the
// copies to n; each member(n) runs on the first server:
//
//   install(server 1) ─┬─ install(server 2) ── member(server 2) ── install(server 3) ── member(server 3) ─┐
//                      ├─ kubeconfig ── provider                                                         │
//                      └─────────────────────────────────────────────────────────────────────────────────┴─ install(agent i) ── member(agent i)
//                                                                                                           (all agents in parallel)
// - Servers join one at a time: each waits for the previous one to answer /readyz and register
//   (etcd membership changes one by one).
// - Agents wait for the whole control plane, not for each other: the critical path grows with the
//   number of servers only. Waiting for all servers (not only the first) is what makes the same
//   graph give the other two orders the issue asks for: an upgrade updates servers one at a time
//   and only then agents (kubelets never newer than an API server, Kubernetes' skew policy), and
//   destroy removes agents first, then the extra servers newest first, then the first server.
// - member(n) runs on the first server: its create waits until n registered with the pinned
//   kubelet version, its delete drains and deletes n while the API is up. It depends on install(n),
//   so it is deleted (drain) before install(n) is (uninstall), also when only n leaves the stack.
import * as path from "node:path";
import * as fs from "node:fs";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { clusterIdentifier, type Cluster, type ClusterArgs } from "../cluster";
import type { Connection } from "../connection";
import { remoteCommand } from "../shell";
import { rewriteKubeconfigServer } from "../kube";
import { AIRGAP_FILES, AIRGAP_IMAGES, K3S_PATHS } from "./scripts";
import { k3sSteps, Step } from "./steps";

/** Image tarballs in the air-gap folder (optional; sorted so the registered inputs are stable). */
export function airgapImageFiles(dir: string): string[] {
    let names: string[];
    try {
        names = fs.readdirSync(dir);
    } catch {
        // The install.sh and k3s assets then fail with the provider's own "no such file" error.
        return [];
    }
    return names.filter((f) => AIRGAP_IMAGES.test(f)).sort();
}

export class K3sCluster extends pulumi.ComponentResource implements Cluster {
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;
    readonly apiReady: pulumi.Resource[] = [];
    readonly nodesJoined: pulumi.Resource[] = [];
    readonly kubectl = "k3s kubectl";
    readonly onNode: Record<string, pulumi.Resource[]> = {};

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:K3sCluster", name, {}, opts);
        const { plan } = args;
        const steps = k3sSteps(plan);
        const firstName = plan.firstControlPlane.name;

        const token = pulumi.secret(
            args.token ?? new random.RandomPassword(`${name}-token`, { length: 48, special: false }, { parent: this }).result,
        );
        const connection = (node: string): Connection => {
            const c = args.connections[node];
            if (!c) throw new Error(`K3sCluster: no SSH connection for node ${node}`);
            return c;
        };
        // Secrets never ride in PULUMI_COMMAND_STDOUT (the kubeconfig read's previous output would),
        // and hosts without AcceptEnv do not warn on every delete (pulumi-command#430).
        const run = (step: Step, extra: Partial<command.remote.CommandArgs> = {}): command.remote.CommandArgs => ({
            connection: connection(step.runsOn),
            create: remoteCommand(step.create, plan.ssh.sudo),
            ...(step.update !== undefined ? { update: remoteCommand(step.update, plan.ssh.sudo) } : {}),
            ...(step.delete !== undefined ? { delete: remoteCommand(step.delete, plan.ssh.sudo) } : {}),
            addPreviousOutputInEnv: false,
            ...extra,
        });
        // Every step whose delete undoes its create: on replacement the old one goes first, so a
        // node is uninstalled before it is installed again (never install-then-uninstall).
        const child = (deps: pulumi.Input<pulumi.Resource>[] = []): pulumi.CustomResourceOptions => ({ parent: this, dependsOn: deps, deleteBeforeReplace: true });

        /** What one node's install waits for on its own host: preparation, token file, staged files. */
        const hostReady = (n: (typeof steps.nodes)[number]): pulumi.Resource[] => {
            const prep = args.hostPreps[n.node.name];
            const deps: pulumi.Resource[] = prep ? [prep] : [];
            const tokenFile = new command.remote.Command(
                `${name}-${n.token.id}`,
                run(n.token, { stdin: token, logging: "none" }),
                { ...child(deps), additionalSecretOutputs: ["stdin"] },
            );
            const ready: pulumi.Resource[] = [...deps, tokenFile];
            this.onNode[n.node.name] = [tokenFile];
            if (n.airgapStage) {
                const stage = new command.remote.Command(`${name}-${n.airgapStage.id}`, run(n.airgapStage), child(deps));
                this.onNode[n.node.name].push(stage);
                const dir = plan.install.airgapDir!;
                const files = [AIRGAP_FILES.installer, AIRGAP_FILES.binary, ...airgapImageFiles(dir)];
                for (const file of files) {
                    ready.push(
                        new command.remote.CopyToRemote(
                            `${name}-${n.node.name}-copy-${file}`,
                            {
                                connection: connection(n.node.name),
                                source: new pulumi.asset.FileAsset(path.join(dir, file)),
                                remotePath: `${K3S_PATHS.airgapStage}/${file}`,
                                // A changed host alone would not copy again (the provider compares only
                                // the asset hash and the path).
                                triggers: [n.node.host],
                            },
                            child([stage]),
                        ),
                    );
                }
            }
            return ready;
        };

        // Registry files, one node after the other: a change restarts each node's k3s and waits
        // for it before the next one restarts (never two servers at once, k3s-ansible#485).
        const registries: Record<string, command.remote.Command> = {};
        let previousRegistries: command.remote.Command | undefined;
        for (const n of steps.nodes) {
            if (!n.registries) continue;
            const prep = args.hostPreps[n.node.name];
            registries[n.node.name] = previousRegistries = new command.remote.Command(
                `${name}-${n.registries.id}`,
                run(n.registries, { stdin: n.registries.secret ? pulumi.secret(n.registries.stdin) : n.registries.stdin }),
                { ...child([...(prep ? [prep] : []), ...(previousRegistries ? [previousRegistries] : [])]), ...(n.registries.secret ? { additionalSecretOutputs: ["stdin"] } : {}) },
            );
        }

        let firstInstall: command.remote.Command | undefined;
        /** The last step of the control plane so far: the next server (and the agents) wait for it. */
        let controlPlaneDone: command.remote.Command | undefined;
        const installs: command.remote.Command[] = [];
        const members: command.remote.Command[] = [];
        for (const n of steps.nodes) {
            const isFirst = n.node.name === firstName;
            const isServer = n.node.role === "control-plane";
            const order: pulumi.Resource[] = isFirst ? [] : isServer ? [controlPlaneDone!] : [...new Set([firstInstall!, controlPlaneDone!])];
            const install = new command.remote.Command(
                `${name}-${n.install.id}`,
                run(n.install, {
                    stdin: n.install.config,
                    // Create-only settings replace the node (see config.ts createOnlySettings). Every
                    // other node also follows the first server's identity: a new first server is a
                    // new cluster that the others must join again from scratch. Because `triggers`
                    // takes the first install's id as a property dependency, Pulumi deletes them
                    // (agents first) before it replaces the first server.
                    triggers: isFirst ? n.install.createOnly : [...n.install.createOnly, firstInstall!.id],
                }),
                child([...hostReady(n), ...order, ...(registries[n.node.name] ? [registries[n.node.name]] : [])]),
            );
            installs.push(install);
            if (registries[n.node.name]) this.onNode[n.node.name].push(registries[n.node.name]);
            this.onNode[n.node.name].push(install);
            if (isFirst) {
                firstInstall = install;
                controlPlaneDone = install;
            }
            if (n.member) {
                // triggers: [install.id] is a property dependency, so replacing the node's install
                // first replaces (drains and deletes) its membership, as removing it would.
                const member = new command.remote.Command(`${name}-${n.member.id}`, run(n.member, { triggers: [install.id] }), child([install]));
                members.push(member);
                // Drains run on the first server (steps.ts), so their delete needs that host.
                this.onNode[firstName].push(member);
                if (isServer) controlPlaneDone = member;
            }
        }

        const read = new command.remote.Command(
            `${name}-${steps.kubeconfig.id}`,
            // Read again whenever the first server is reinstalled (new certificates).
            run(steps.kubeconfig, { logging: "none", triggers: [firstInstall!.id] }),
            { parent: this, dependsOn: [firstInstall!], additionalSecretOutputs: ["stdout"] },
        );
        // In preview the output is unknown and apply does not run; the provider then previews as
        // unreachable, which plain resources and helm.v3.Release tolerate (pulumi-notes 4.3).
        this.kubeconfig = pulumi.secret(read.stdout.apply((text) => rewriteKubeconfigServer(text, plan.api.url)));
        this.provider = new k8s.Provider(
            `${name}-k8s`,
            {
                kubeconfig: this.kubeconfig,
                // Without it an unknown (re-read) kubeconfig replaces the provider and with it every
                // object it manages (pulumi-kubernetes DiffConfig; clusterIdentifier since 4.16.0).
                clusterIdentifier: clusterIdentifier(plan),
            },
            { parent: this },
        );
        this.apiReady.push(firstInstall!);
        this.nodesJoined.push(...installs, ...members);
        this.registerOutputs({ kubeconfig: this.kubeconfig, apiServer: plan.api.url });
    }
}
