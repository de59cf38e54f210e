import * as assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { BGP_API_VERSION, bgpArtifacts, bgpConfiguration, bgpPeers, bgpYaml, PASSWORD_SECRET, passwordRole, passwordRoleBinding, passwordSecret } from "../../../components/calico/bgp";
import { renderArtifacts } from "../../../components/render";
import { baseConfig, ConfigInput, planOf } from "../../support/configs";

const PEERS = [
    { peerIP: "192.0.2.1", asNumber: 64500, password: "pw-v4" },
    { peerIP: "fd45:a71:55a6:1::1", asNumber: 64500, nodeSelector: "has(bgp)", keepOriginalNextHop: true },
];

function cfg(distribution: "k3s" | "k0s", bgp: Record<string, unknown>, extra: ConfigInput = {}): ConfigInput {
    const base = baseConfig(distribution === "k0s" ? { distribution: "k0s", version: "v1.34.1+k0s.0" } : {});
    return { ...base, calico: { bgp }, ...extra };
}

describe("BGP objects (crd.projectcalico.org/v1)", () => {
    const table: { name: string; distribution: "k3s" | "k0s"; namespace: string }[] = [
        { name: "k3s (operator)", distribution: "k3s", namespace: "calico-system" },
        { name: "k0s-managed Calico", distribution: "k0s", namespace: "kube-system" },
    ];
    for (const t of table) {
        it(`${t.name}: one BGPConfiguration default, one BGPPeer per peer, the password Secret readable by calico-node in ${t.namespace}`, () => {
            const plan = planOf(cfg(t.distribution, { asNumber: 64512, nodeToNodeMesh: false, peers: PEERS, advertise: { serviceClusterIPs: true } }));
            assert.deepEqual(bgpConfiguration(plan), {
                apiVersion: BGP_API_VERSION,
                kind: "BGPConfiguration",
                metadata: { name: "default" },
                spec: { asNumber: 64512, nodeToNodeMeshEnabled: false, serviceClusterIPs: [{ cidr: "10.43.0.0/16" }, { cidr: "fd45:a71:55a6:43::/112" }] },
            });
            assert.deepEqual(bgpPeers(plan), [
                { apiVersion: BGP_API_VERSION, kind: "BGPPeer", metadata: { name: "dualstack-192-0-2-1" }, spec: { peerIP: "192.0.2.1", asNumber: 64500, password: { secretKeyRef: { name: PASSWORD_SECRET, key: "dualstack-192-0-2-1" } }, sourceAddress: "UseNodeIP" } },
                { apiVersion: BGP_API_VERSION, kind: "BGPPeer", metadata: { name: "dualstack-fd45-a71-55a6-1-0-0-0-1" }, spec: { peerIP: "fd45:a71:55a6:1::1", asNumber: 64500, nodeSelector: "has(bgp)", keepOriginalNextHop: true, sourceAddress: "UseNodeIP" } },
            ]);
            assert.equal(passwordSecret(plan).metadata.namespace, t.namespace);
            const role = passwordRole(plan);
            assert.deepEqual(role.rules, [{ apiGroups: [""], resources: ["secrets"], resourceNames: [PASSWORD_SECRET], verbs: ["get", "list", "watch"] }]);
            const binding = passwordRoleBinding(plan);
            assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "calico-node", namespace: t.namespace }]);
            assert.equal(binding.roleRef.name, role.metadata.name);
            assert.equal(binding.metadata.namespace, t.namespace);
        });
    }

    it("no password, no Secret and no RBAC in the rendered file; advertised lists only when asked", () => {
        const plan = planOf(cfg("k3s", { peers: [{ peerIP: "192.0.2.1", asNumber: 64500 }, { peerIP: "fd45:a71:55a6:1::1", asNumber: 64500 }] }));
        const docs = parseAllDocuments(bgpYaml(plan)).map((d) => d.toJS());
        assert.deepEqual(docs.map((d) => d.kind), ["BGPConfiguration", "BGPPeer", "BGPPeer"]);
        assert.deepEqual(Object.keys(docs[0].spec).sort(), ["asNumber", "nodeToNodeMeshEnabled"]);
    });

    it("the rendered Secret names the config key of each password instead of the password", () => {
        const plan = planOf(cfg("k3s", { peers: PEERS }));
        const text = bgpYaml(plan);
        assert.ok(!text.includes("pw-v4"));
        const secret = parseAllDocuments(text).map((d) => d.toJS()).find((d) => d.kind === "Secret");
        assert.deepEqual(secret.stringData, { "dualstack-192-0-2-1": "(secret: dualstack:calico.bgp.peers[0].password, set by pulumi up)" });
    });

    it("npm run render writes cluster/calico/bgp.yaml on both install paths, and nothing without calico.bgp", () => {
        for (const d of ["k3s", "k0s"] as const) {
            const plan = planOf(cfg(d, { peers: PEERS }));
            const files = renderArtifacts(plan).map((a) => a.path);
            assert.ok(files.includes("cluster/calico/bgp.yaml"), d);
            assert.deepEqual(bgpArtifacts(plan)[0].content, bgpYaml(plan));
        }
        assert.ok(!renderArtifacts(planOf()).some((a) => a.path.includes("bgp")));
    });
});
