// The remote steps of a k3s cluster as plain data: which node runs what. Pure. The component turns
// each step into a remote.Command (bodies wrapped by shell.ts remoteCommand); render.ts writes the
// same bodies and the config files, so what `npm run render` shows is what `pulumi up` runs.
import type { Plan, PlannedNode } from "../plan";
import { createOnlySettings, renderK3sConfig } from "./config";
import {
    airgapStageCreateScript,
    airgapStageDeleteScript,
    installScript,
    kubeconfigReadScript,
    registriesContent,
    registriesCreateScript,
    registriesDeleteScript,
    memberCreateScript,
    memberDeleteScript,
    tokenCreateScript,
    tokenDeleteScript,
    uninstallScript,
} from "./scripts";

export interface Step {
    /** Suffix of the child resource name: `<component>-<id>`. */
    id: string;
    /** Stem of the rendered scripts: `nodes/<runsOn>/scripts/k3s-<script>-create.sh`. */
    script: string;
    /** Node whose SSH connection runs the step. */
    runsOn: string;
    /** Script bodies; `update` (in-place change) is the same script as `create` where present. */
    create: string;
    update?: string;
    delete?: string;
}

export interface NodeSteps {
    node: PlannedNode;
    /** Writes the join token (stdin, secret) to the root-only token file. */
    token: Step;
    /** Installs or upgrades k3s (stdin: `config`); its delete uninstalls and cleans up. */
    install: Step & { config: string; createOnly: string[] };
    /** On the first server: waits for the node to register; its delete drains and deletes the node. */
    member?: Step;
    /** Air-gap only: the staging directory CopyToRemote fills. */
    airgapStage?: Step;
    /** With dualstack:registries: registries.yaml (stdin); one node at a time, in `nodes` order. */
    registries?: Step & { stdin: string; secret: boolean };
}

export interface K3sSteps {
    /** Servers in join order (the first server first), then agents. */
    nodes: NodeSteps[];
    kubeconfig: Step;
}

export function k3sSteps(plan: Plan): K3sSteps {
    const first = plan.firstControlPlane.name;
    const ordered = [...plan.controlPlanes, ...plan.workers];
    const nodes = ordered.map((node): NodeSteps => {
        const n = node.name;
        const install = installScript(plan, node);
        const token = tokenCreateScript();
        const out: NodeSteps = {
            node,
            token: { id: `${n}-token`, script: "token", runsOn: n, create: token, update: token, delete: tokenDeleteScript() },
            install: {
                id: `${n}-install`,
                script: "install",
                runsOn: n,
                create: install,
                update: install,
                delete: uninstallScript(node),
                config: renderK3sConfig(plan, node),
                createOnly: createOnlySettings(plan, node),
            },
        };
        if (n !== first) {
            const member = memberCreateScript(plan, node);
            out.member = { id: `${n}-member`, script: `member-${n}`, runsOn: first, create: member, update: member, delete: memberDeleteScript(plan, node) };
        }
        const registries = registriesContent(plan);
        if (registries !== undefined) {
            const create = registriesCreateScript(node);
            const secret = Object.values(plan.registries!.configs).some((c) => c.auth !== undefined);
            out.registries = { id: `${n}-registries`, script: "registries", runsOn: n, create, update: create, delete: registriesDeleteScript(), stdin: registries, secret };
        }
        if (plan.install.source === "airgap") {
            const stage = airgapStageCreateScript(plan);
            out.airgapStage = { id: `${n}-airgap-stage`, script: "airgap-stage", runsOn: n, create: stage, update: stage, delete: airgapStageDeleteScript() };
        }
        return out;
    });
    return { nodes, kubeconfig: { id: "kubeconfig", script: "kubeconfig", runsOn: first, create: kubeconfigReadScript() } };
}
