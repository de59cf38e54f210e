// calico.bgp wiring under Pulumi's mock runtime (whole program): the BGP objects on both install
// paths, after Calico, before the check; the password only as a secret input.
import * as assert from "node:assert/strict";
import { bgpConfiguration, bgpPeers, passwordRole, passwordRoleBinding } from "../../../components/calico/bgp";
import { loadPlan } from "../../../components/plan";
import { RunResult, runProgram, stackConfig, stringLeaves, transitiveDeps, unwrapSecrets } from "../../support/program";

const PASSWORD = "router-shared-secret-1";
const CR = (kind: string) => `kubernetes:crd.projectcalico.org/v1:${kind}`;

function withBgp(stack: string, loadBalancer?: Record<string, unknown>): Record<string, string> {
    const cfg = stackConfig(stack);
    const calico = JSON.parse(cfg["dualstack:calico"] ?? "{}");
    const v6net = JSON.parse(cfg["dualstack:network"]).nodeIpv6Prefix as string;
    const router6 = v6net.replace(/::\/\d+$/, "::1");
    calico.bgp = {
        asNumber: 64512,
        peers: [
            { peerIP: "192.0.2.1", asNumber: 64500, password: PASSWORD },
            { peerIP: router6, asNumber: 64500 },
        ],
        advertise: { serviceClusterIPs: true },
    };
    return { ...cfg, "dualstack:calico": JSON.stringify(calico), ...(loadBalancer ?? {}) };
}

function children(r: RunResult): RunResult["resources"] {
    const comp = r.byType("dualstack:index:CalicoBgp");
    assert.equal(comp.length, 1, "one CalicoBgp component");
    return r.resources.filter((x) => x.parent === comp[0].urn);
}

describe("calico.bgp under the mock runtime (whole program)", () => {
    const runs = [
        { stack: "lab-k3s", after: "kubernetes:operator.tigera.io/v1:Installation" },
        { stack: "lab-k0s", after: undefined },
    ];
    for (const run of runs) {
        for (const preview of [true, false]) {
            it(`${run.stack} (${preview ? "preview" : "update"}): BGPConfiguration, BGPPeers, Secret and RBAC as rendered; after Calico, before the check`, async () => {
                const config = withBgp(run.stack);
                const { plan } = loadPlan((k) => config[k], run.stack, Object.keys(config));
                const r = await runProgram({ config, stackName: run.stack, preview });
                const kids = children(r);
                assert.deepEqual(kids.map((k) => k.type).sort(), [CR("BGPConfiguration"), CR("BGPPeer"), CR("BGPPeer"), "kubernetes:core/v1:Secret", "kubernetes:rbac.authorization.k8s.io/v1:Role", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"].sort());
                assert.deepEqual(kids.find((k) => k.type === CR("BGPConfiguration"))!.inputs, bgpConfiguration(plan));
                assert.deepEqual(kids.filter((k) => k.type === CR("BGPPeer")).map((k) => k.inputs).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)), bgpPeers(plan));
                assert.deepEqual(kids.find((k) => k.name.endsWith("password-reader") && k.type.endsWith("Role"))!.inputs, passwordRole(plan));
                assert.deepEqual(kids.find((k) => k.type.endsWith("RoleBinding"))!.inputs, passwordRoleBinding(plan));

                // The password is a secret input of the Secret and appears nowhere else.
                const secret = kids.find((k) => k.type === "kubernetes:core/v1:Secret")!;
                assert.ok(secret.secretInputs.includes("stringData"), `secret inputs: ${secret.secretInputs.join(", ")}`);
                if (!preview) assert.deepEqual(unwrapSecrets(secret.inputs.stringData), { "dualstack-192-0-2-1": PASSWORD });
                for (const res of r.resources.filter((x) => x !== secret)) {
                    assert.ok(!stringLeaves(unwrapSecrets(res.inputs)).some((s) => s.includes(PASSWORD)), `${res.name} carries the password`);
                }
                assert.ok(!JSON.stringify(r.outputs).includes(PASSWORD));

                // Peers wait for the Secret and its RBAC; everything waits for Calico; the check waits for the peers.
                const peer = kids.find((k) => k.type === CR("BGPPeer"))!;
                for (const dep of [secret.urn, ...kids.filter((k) => k.type.includes("rbac")).map((k) => k.urn)]) assert.ok(peer.dependencies.includes(dep));
                if (run.after) assert.ok(transitiveDeps(r, peer).has(r.byType(run.after)[0].urn), "peers wait for the Installation");
                else assert.ok(peer.dependencies.length > 2, "peers wait for the k0s cluster");
                const check = r.resources.find((x) => x.name === "check-run")!;
                assert.ok(transitiveDeps(r, check).has(peer.urn), "the check runs after the peers");
            });
        }
    }

    it("a stack without calico.bgp registers no CalicoBgp", async () => {
        const r = await runProgram({ stack: "lab-k3s", preview: true });
        assert.equal(r.byType("dualstack:index:CalicoBgp").length, 0);
    });
});
