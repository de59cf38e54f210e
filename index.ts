// dualstack: bare Linux hosts -> dual-stack Kubernetes (k3s, k0s or kubeadm), Calico, Traefik, and proof.
// Thin wiring only: the plan and every rendered artifact come from pure functions in components/.
import * as pulumi from "@pulumi/pulumi";
import { Calico } from "./components/calico";
import { CalicoBgp } from "./components/calico/bgp-component";
import { DualStackCheck } from "./components/check";
import type { Cluster, ClusterArgs } from "./components/cluster";
import { connectionFor } from "./components/connection";
import type { DistributionName } from "./components/distributions";
import { HostPrep } from "./components/hostprep";
import { K0sCluster } from "./components/k0s";
import { K3sCluster } from "./components/k3s";
import { KubeadmCluster } from "./components/kubeadm";
import { readStack } from "./components/stack";
import { Traefik } from "./components/traefik";

/** The cluster component of each distribution (components/distributions has their profiles). */
const CLUSTERS: Record<DistributionName, new (name: string, args: ClusterArgs) => Cluster & pulumi.ComponentResource> = { k3s: K3sCluster, k0s: K0sCluster, kubeadm: KubeadmCluster };

export = async () => {
    // Validation throws before any resource is registered, listing every problem at once.
    const { plan, secrets } = readStack();

    const connections = Object.fromEntries(plan.nodes.map((n) => [n.name, connectionFor(plan, n, secrets)]));

    // Hosts are independent of each other: prepared in parallel.
    const hostPreps: Record<string, HostPrep> = plan.hostPrep.enabled
        ? Object.fromEntries(plan.nodes.map((n) => [n.name, new HostPrep(`host-${n.name}`, { plan, node: n, connection: connections[n.name] })]))
        : {};

    const clusterArgs = { plan, connections, hostPreps, token: secrets.token };
    const cluster: Cluster & pulumi.ComponentResource = new CLUSTERS[plan.distribution]("cluster", clusterArgs);

    const calico =
        plan.calico.managedBy === "operator"
            ? new Calico("calico", { plan, provider: cluster.provider, dependsOn: cluster.apiReady })
            : undefined;
    // Peering with the upstream router, on both install paths (k0s-managed Calico included).
    const bgp = plan.bgp
        ? new CalicoBgp("calico-bgp", { plan, provider: cluster.provider, passwords: secrets.bgpPasswords, dependsOn: calico ? calico.ready : cluster.nodesJoined })
        : undefined;
    const traefik = new Traefik("traefik", {
        plan,
        provider: cluster.provider,
        dependsOn: calico ? calico.ready : cluster.nodesJoined,
    });

    const check = plan.checks.enabled
        ? new DualStackCheck("check", {
              plan,
              connection: connections[plan.firstControlPlane.name],
              kubectl: cluster.kubectl,
              dependsOn: [...cluster.nodesJoined, ...cluster.upgraded, ...(calico ? calico.ready : []), ...(bgp ? bgp.ready : []), ...traefik.ready],
          })
        : undefined;

    // What `pulumi state delete` needs when a host is gone: the resources whose delete runs on it,
    // dependents first.
    const onHost = (node: string): pulumi.Resource[] =>
        [
            ...(cluster.onNode[node] ?? []),
            ...(hostPreps[node]?.ready ?? []),
            ...(check && node === plan.firstControlPlane.name ? [check.run] : []),
        ].reverse();

    return {
        apiServer: plan.api.url,
        kubeconfig: pulumi.secret(cluster.kubeconfig),
        nodes: plan.nodes.map((n) => ({ name: n.name, role: n.role, ipv4: n.ipv4, ipv6: n.ipv6Cidr })),
        podCidrs: plan.podCidrs.ordered,
        serviceCidrs: plan.serviceCidrs.ordered,
        ipv6AutodetectionMethod: plan.autodetection.ipv6Method,
        traefik: {
            service: `${traefik.service.namespace}/${traefik.service.name}`,
            type: traefik.service.type,
            clusterIPs: traefik.clusterIPs,
            externalIPs: traefik.externalIPs,
            loadBalancerAddresses: traefik.loadBalancerAddresses,
            release: traefik.releaseStatus,
        },
        calicoInstallation: calico ? calico.installationSpec : "managed by k0s (dualstack:network.provider=calico)",
        dualStackReport: check ? check.report : "checks disabled (dualstack:checks.enabled=false)",
        recoveryUrns: Object.fromEntries(plan.nodes.map((n) => [n.name, pulumi.all(onHost(n.name).map((r) => r.urn))])),
    };
};
