import * as assert from "node:assert/strict";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { Calico } from "../../../components/calico";
import { installationObject, POOLS_PATH } from "../../../components/calico/installation";
import { artifacts } from "../../../components/calico/render";
import { operatorValues } from "../../../components/calico/values";
import { familyOfCidr } from "../../../components/net";
import { loadPlan, Plan } from "../../../components/plan";
import { planOf } from "../../support/configs";
import { Registered, RunResult, runProgram, runUnderMocks, stackConfig, transitiveDeps } from "../../support/program";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const INSTALLATION = "kubernetes:operator.tigera.io/v1:Installation";

function planFor(config: Record<string, string>, stack: string): Plan {
    return loadPlan((k) => config[k], stack, Object.keys(config)).plan;
}

/** lab-k0s with the CNI handed to the operator (`network.provider: custom`). */
function k0sCustom(): Record<string, string> {
    const cfg = stackConfig("lab-k0s");
    const net = JSON.parse(cfg["dualstack:network"]);
    return { ...cfg, "dualstack:network": JSON.stringify({ ...net, provider: "custom" }) };
}

/** lab-k3s turned IPv6-primary (pod and service CIDRs swapped). */
function k3sIpv6Primary(): Record<string, string> {
    const cfg = stackConfig("lab-k3s");
    const net = JSON.parse(cfg["dualstack:network"]);
    return { ...cfg, "dualstack:network": JSON.stringify({ ...net, podCidrs: [...net.podCidrs].reverse(), serviceCidrs: [...net.serviceCidrs].reverse() }) };
}

function calicoChildren(r: RunResult): Registered[] {
    const comp = r.byType("dualstack:index:Calico");
    assert.equal(comp.length, 1, "one Calico component");
    return r.resources.filter((x) => x.parent === comp[0].urn);
}

/** True when `urn` was registered somewhere below the component of type `type`. */
function isBelow(r: RunResult, urn: string, type: string): boolean {
    const byUrn = new Map(r.resources.map((x) => [x.urn, x]));
    for (let cur = byUrn.get(urn); cur; cur = byUrn.get(cur.parent)) {
        if (cur.type === type) return true;
    }
    return false;
}

const runs: { name: string; config: () => Record<string, string>; stack: string; cluster: string }[] = [
    { name: "lab-k3s", config: () => stackConfig("lab-k3s"), stack: "lab-k3s", cluster: "dualstack:index:K3sCluster" },
    { name: "lab-k3s IPv6-primary", config: k3sIpv6Primary, stack: "lab-k3s", cluster: "dualstack:index:K3sCluster" },
    { name: "lab-k0s with network.provider custom", config: k0sCustom, stack: "lab-k0s", cluster: "dualstack:index:K0sCluster" },
];

describe("Calico under the mock runtime (whole program)", () => {
    for (const run of runs) {
        for (const preview of [true, false]) {
            it(`${run.name} (${preview ? "preview" : "update"}): operator release, then the Installation, after the cluster`, async () => {
                const config = run.config();
                const plan = planFor(config, run.stack);
                const r = await runProgram({ config, stackName: run.stack, preview });
                const children = calicoChildren(r);
                // No CRD chart release: the operator installs the CRDs (components/calico/values.ts).
                assert.deepEqual(children.map((c) => c.type).sort(), [RELEASE, INSTALLATION].sort());
                assert.equal(r.byType(RELEASE).filter((x) => String(x.inputs.chart).startsWith("crd.projectcalico.org")).length, 0);

                const release = children.find((c) => c.type === RELEASE)!;
                const inst = children.find((c) => c.type === INSTALLATION)!;
                const [installationYaml, valuesYaml] = artifacts(plan);

                // The registered inputs are the rendered files.
                assert.deepEqual(release.inputs.values, parse(valuesYaml.content));
                assert.deepEqual(release.inputs.values, operatorValues(plan));
                assert.deepEqual(inst.inputs, parse(installationYaml.content));
                assert.deepEqual(inst.inputs, installationObject(plan));
                assert.equal(release.inputs.chart, "tigera-operator");
                assert.equal(release.inputs.version, plan.calico.version);
                assert.equal(release.inputs.namespace, "tigera-operator");
                assert.equal(release.inputs.createNamespace, true);

                // Pools in the cluster's primary-family order.
                const pools = inst.inputs.spec.calicoNetwork.ipPools as { cidr: string }[];
                assert.deepEqual(pools.map((p) => familyOfCidr(p.cidr)), plan.families);
                assert.equal(inst.inputs.spec.calicoNetwork.containerIPForwarding, plan.distribution === "k3s" ? "Enabled" : "Disabled");

                // Order: cluster API -> operator release -> Installation; both on the cluster's provider.
                assert.ok(inst.dependencies.includes(release.urn), "the Installation waits for the operator release");
                assert.ok(release.dependencies.length > 0, "the operator release waits for the cluster");
                for (const d of release.dependencies) assert.ok(isBelow(r, d, run.cluster), `${d} is not part of the cluster`);
                const instDeps = transitiveDeps(r, inst);
                for (const d of release.dependencies) assert.ok(instDeps.has(d));
                for (const c of [release, inst]) {
                    assert.ok(c.provider.startsWith("urn:") && isBelow(r, c.provider.split("::").slice(0, 4).join("::"), run.cluster), `${c.name} uses the cluster's provider, got ${c.provider}`);
                    assert.ok(c.provider.includes("pulumi:providers:kubernetes"));
                }

                // Pools are create-time: changing them is a visible replacement.
                assert.deepEqual(inst.replaceOnChanges, [POOLS_PATH]);
                assert.equal(inst.deleteBeforeReplace, true);
            });
        }
    }

    it("lab-k0s with k0s-managed Calico registers no Calico component", async () => {
        const r = await runProgram({ stack: "lab-k0s", preview: true });
        assert.equal(r.byType("dualstack:index:Calico").length, 0);
        assert.equal(r.byType(INSTALLATION).length, 0);
    });
});

/** Test double for the cluster's "API is ready" resource (e.g. the first server's install command). */
class ApiReadyDouble extends pulumi.CustomResource {
    constructor(name: string) {
        super("test:index:ApiReadyDouble", name, {});
    }
}

interface Seen {
    type: string;
    name: string;
    urn: string;
    deps: string[];
    provider: string;
    replaceOnChanges: string[];
}

/**
 * Runs the Calico component alone under Pulumi's mocks, with a test double standing in for the
 * cluster's "API is ready" resource, and records what the engine is asked to register.
 */
async function runComponent(plan: Plan, preview: boolean): Promise<{ seen: Seen[]; calico: Calico; apiReadyUrn: string; providerUrn: string }> {
    const { resources, value } = await runUnderMocks({ stackName: "component-test", preview }, async () => {
        const apiReadyDouble = new ApiReadyDouble("api-ready-double");
        const providerDouble = new k8s.Provider("k8s-provider-double", { kubeconfig: "double", clusterIdentifier: "double" });
        const calico = new Calico("calico", { plan, provider: providerDouble, dependsOn: [apiReadyDouble] });
        const urnOf = (res: pulumi.Resource) => new Promise<string>((resolve) => res.urn.apply((u) => (resolve(u), u)));
        const [apiReadyUrn, providerUrn] = await Promise.all([urnOf(apiReadyDouble), urnOf(providerDouble), urnOf(calico.installation)]);
        return { calico, apiReadyUrn, providerUrn };
    });
    return { seen: resources.map((r) => ({ ...r, deps: r.dependencies })), ...value };
}

describe("Calico component alone (mock runtime, test doubles for the cluster)", () => {
    for (const preview of [true, false]) {
        it(`${preview ? "preview" : "update"}: the release waits for exactly the given dependsOn and uses the given provider`, async () => {
            const plan = planOf();
            const { seen, calico, apiReadyUrn, providerUrn } = await runComponent(plan, preview);
            const release = seen.find((s) => s.type === RELEASE)!;
            const inst = seen.find((s) => s.type === INSTALLATION)!;
            assert.deepEqual(release.deps, [apiReadyUrn]);
            assert.deepEqual(inst.deps, [release.urn]);
            assert.ok(release.provider.startsWith(`${providerUrn}::`), release.provider);
            assert.ok(inst.provider.startsWith(`${providerUrn}::`), inst.provider);
            assert.deepEqual(inst.replaceOnChanges, [POOLS_PATH]);
            assert.equal(release.name, "calico-operator");
            assert.equal(inst.name, "calico-installation");
            // `ready` is what Traefik and the check wait for: the Installation, which waits for pods.
            assert.deepEqual(calico.ready, [calico.installation]);
            assert.deepEqual(calico.installationSpec, installationObject(plan).spec);
        });
    }
});
