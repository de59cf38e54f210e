// The BGP objects in the cluster (dualstack:calico.bgp), on both install paths: after the
// operator's Installation, or after k0s has brought up its own Calico. Thin wiring over bgp.ts.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../plan";
import { bgpConfiguration, bgpPeers, passwordKeys, passwordRole, passwordRoleBinding, passwordSecret } from "./bgp";

export interface CalicoBgpArgs {
    plan: Plan;
    provider: k8s.Provider;
    /** The peers' passwords by BGPPeer name, as a Pulumi secret (stack.ts). */
    passwords?: pulumi.Output<Record<string, string>>;
    /** Resources after which Calico's CRDs exist and calico-node runs. */
    dependsOn: pulumi.Resource[];
}

export class CalicoBgp extends pulumi.ComponentResource {
    /** Resources after which the BGP objects are applied (for the check). */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: CalicoBgpArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:CalicoBgp", name, {}, opts);
        const { plan, provider } = args;
        const child = { parent: this, provider, dependsOn: args.dependsOn };

        // The Secret and the right to read it come before any BGPPeer that references them, so
        // calico-node never renders a session with a password it cannot read.
        const keys = passwordKeys(plan);
        const access: pulumi.Resource[] = [];
        if (keys.length > 0) {
            if (!args.passwords) throw new Error("calico.bgp peers have passwords but none were read from the config");
            const data = pulumi.secret(
                args.passwords.apply((all) => {
                    const missing = keys.filter((k) => all[k] === undefined);
                    if (missing.length) throw new Error(`no password read for BGP peer(s) ${missing.join(", ")}`);
                    return Object.fromEntries(keys.map((k) => [k, all[k]]));
                }),
            );
            const secret = new k8s.core.v1.Secret(`${name}-passwords`, { ...passwordSecret(plan), stringData: data }, child);
            const role = new k8s.rbac.v1.Role(`${name}-password-reader`, passwordRole(plan), child);
            const binding = new k8s.rbac.v1.RoleBinding(`${name}-password-reader`, passwordRoleBinding(plan), { ...child, dependsOn: [...args.dependsOn, role] });
            access.push(secret, role, binding);
        }

        // The provider retries a create whose kind is not registered yet (k0s applies its Calico
        // CRDs on its own schedule), and deletes these on destroy: what was added is removed.
        const configuration = new k8s.apiextensions.CustomResource(`${name}-configuration`, bgpConfiguration(plan), child);
        const peers = bgpPeers(plan).map(
            (peer) => new k8s.apiextensions.CustomResource(`${name}-peer-${peer.metadata.name}`, peer, { ...child, dependsOn: [...args.dependsOn, ...access] }),
        );

        this.ready = [configuration, ...peers, ...access];
        this.registerOutputs({});
    }
}
