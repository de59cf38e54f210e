// KubeadmCluster: upstream Kubernetes with kubeadm over SSH. Thin wiring: the steps and their order
// are data (steps.ts, the same list render.ts writes); components/cluster.ts registers them.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { registerCluster, type Cluster, type ClusterArgs } from "../cluster";
import { kubeadm } from "../distributions/kubeadm";
import { registryFiles } from "./registries";
import { CLUSTER_SECRETS, kubeadmSteps, REGISTRIES_SECRET } from "./steps";

export class KubeadmCluster extends pulumi.ComponentResource implements Cluster {
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;
    readonly apiReady: pulumi.Resource[];
    readonly nodesJoined: pulumi.Resource[];
    readonly upgraded: pulumi.Resource[];
    readonly kubectl = kubeadm.kubectl;
    readonly onNode: Record<string, pulumi.Resource[]>;

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:KubeadmCluster", name, {}, opts);
        const { plan } = args;
        // A bootstrap token is `[a-z0-9]{6}.[a-z0-9]{16}` (kubeadm bootstraptoken API); the certificate
        // key encrypts the uploaded control-plane certificates: 32 random bytes, hex (kubeadm certs certificate-key).
        const lowerDigits = { upper: false, special: false, lower: true, numeric: true };
        const tokenId = new random.RandomString(`${name}-token-id`, { length: 6, ...lowerDigits }, { parent: this });
        const tokenSecret = new random.RandomString(`${name}-token-secret`, { length: 16, ...lowerDigits }, { parent: this });
        const certificateKey = new random.RandomId(`${name}-certificate-key`, { byteLength: 32 }, { parent: this });
        const secrets = pulumi.secret(pulumi.interpolate`token=${tokenId.result}.${tokenSecret.result}\ncertificateKey=${certificateKey.hex}\n`);
        const dropIn = registryFiles(plan).find((f) => f.secret);
        const cluster = registerCluster(this, name, args, kubeadmSteps(plan), { [CLUSTER_SECRETS]: secrets, ...(dropIn ? { [REGISTRIES_SECRET]: pulumi.secret(dropIn.content) } : {}) });
        this.kubeconfig = cluster.kubeconfig;
        this.provider = cluster.provider;
        this.apiReady = cluster.apiReady;
        this.nodesJoined = cluster.nodesJoined;
        this.upgraded = cluster.upgraded;
        this.onNode = cluster.onNode;
        this.registerOutputs({ kubeconfig: this.kubeconfig, apiServer: plan.api.url });
    }
}
