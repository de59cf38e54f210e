// calico/pools.ts is the one source for the pools: every consumer (the operator's Installation,
// k0s' calico-node env vars, the recorded-cluster double) must say what expectedPools says.
import * as assert from "node:assert/strict";
import { parse } from "yaml";
import { ipPools } from "../../../components/calico/installation";
import { expectedPool, expectedPools } from "../../../components/calico/pools";
import { renderK0sYaml } from "../../../components/k0s/k0sconfig";
import { baseConfig, planOf } from "../../support/configs";
import { healthyDocument } from "../../fixtures/check/double";

const K0S = { distribution: "k0s", version: "v1.34.1+k0s.0" };

describe("calico/pools: expected pools", () => {
    for (const nat of [true, false]) {
        it(`per family: the pod CIDR, the block size, and NAT (IPv4 always, IPv6 ${nat ? "on" : "off"})`, () => {
            const plan = planOf(baseConfig({ calico: { ipv6NatOutgoing: nat, blockSizes: { ipv4: 24, ipv6: 120 } } }));
            assert.deepEqual(expectedPools(plan), [
                { family: "IPv4", name: "default-ipv4-ippool", cidr: plan.podCidrs.ipv4, blockSize: 24, encapsulation: "IPIPCrossSubnet", natOutgoing: true },
                { family: "IPv6", name: "default-ipv6-ippool", cidr: plan.podCidrs.ipv6, blockSize: 120, encapsulation: "None", natOutgoing: nat },
            ]);
        });
    }

    it("the primary family's pool first", () => {
        const net = baseConfig().network as Record<string, unknown>;
        const plan = planOf(baseConfig({ network: { ...net, podCidrs: ["fd45:a71:55a6:4200::/56", "10.42.0.0/16"], serviceCidrs: ["fd45:a71:55a6:43::/112", "10.43.0.0/16"] } }));
        assert.deepEqual(expectedPools(plan).map((p) => p.family), ["IPv6", "IPv4"]);
    });

    for (const nat of [true, false]) {
        it(`the Installation, k0s' env vars and the test double agree with it (ipv6NatOutgoing ${nat})`, () => {
            const k3s = planOf(baseConfig({ calico: { ipv6NatOutgoing: nat } }));
            assert.deepEqual(
                ipPools(k3s).map((p) => [p.name, p.cidr, p.blockSize, p.encapsulation, p.natOutgoing === "Enabled"]),
                expectedPools(k3s).map((p) => [p.name, p.cidr, p.blockSize, p.encapsulation, p.natOutgoing]),
            );
            const k0s = planOf(baseConfig({ ...K0S, calico: { ipv6NatOutgoing: nat } }));
            const env = (parse(renderK0sYaml(k0s, k0s.firstControlPlane)) as { spec: { network: { calico: { envVars: Record<string, string> } } } }).spec.network.calico.envVars;
            assert.deepEqual(env, {
                CALICO_IPV4POOL_BLOCK_SIZE: String(expectedPool(k0s, "IPv4").blockSize),
                CALICO_IPV6POOL_BLOCK_SIZE: String(expectedPool(k0s, "IPv6").blockSize),
                CALICO_IPV6POOL_NAT_OUTGOING: String(expectedPool(k0s, "IPv6").natOutgoing),
            });
            const recorded = (healthyDocument(k3s).ipPools!.json!.items ?? []).map((p) => [p.metadata?.name, p.spec?.cidr, p.spec?.natOutgoing === true]);
            assert.deepEqual(recorded, expectedPools(k3s).map((p) => [p.name, p.cidr, p.natOutgoing]));
        });
    }
});
