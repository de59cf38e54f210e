import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { BLOCK_SIZES, deriveSchema, KEEP } from "../../../components/calico/derive-installation-schema";
import { ROOT } from "../../support/program";

// The derivation script runs by hand against the operator's CRD; here it runs against a small
// CRD of the same shape, so its rules (closed objects, CEL translated or refused, pools split by
// family) are checked without the 1.5 MB original.
const autodetect = {
    type: "object",
    properties: { cidrs: { type: "array", items: { type: "string" } }, firstFound: { type: "boolean" }, interface: { type: "string" } },
    "x-kubernetes-validations": [{ message: "no more than one autodetection method can be specified", rule: "[...].filter(x, x).size() <= 1" }],
};

function miniCrd(extraRule?: { message: string; rule: string }): Record<string, unknown> {
    return {
        spec: {
            group: "operator.tigera.io",
            names: { kind: "Installation" },
            versions: [
                {
                    name: "v1",
                    schema: {
                        openAPIV3Schema: {
                            "x-kubernetes-validations": [{ message: "name", rule: "self.metadata.name == 'default' || self.metadata.name == 'overlay'" }],
                            properties: {
                                spec: {
                                    type: "object",
                                    properties: {
                                        calicoNetwork: {
                                            type: "object",
                                            properties: {
                                                bgp: { type: "string", enum: ["Enabled", "Disabled"], description: "dropped" },
                                                containerIPForwarding: { type: "string", enum: ["Enabled", "Disabled"] },
                                                mtu: { type: "integer", format: "int32" },
                                                ipPools: {
                                                    type: "array",
                                                    maxItems: 25,
                                                    items: {
                                                        type: "object",
                                                        required: ["cidr"],
                                                        properties: {
                                                            cidr: { type: "string" },
                                                            blockSize: { type: "integer", format: "int32" },
                                                            encapsulation: { type: "string", enum: ["IPIPCrossSubnet", "IPIP", "VXLAN", "VXLANCrossSubnet", "None"] },
                                                            natOutgoing: { type: "string", enum: ["Enabled", "Disabled"] },
                                                        },
                                                    },
                                                },
                                                nodeAddressAutodetectionV4: autodetect,
                                                nodeAddressAutodetectionV6: extraRule ? { ...autodetect, "x-kubernetes-validations": [extraRule] } : autodetect,
                                            },
                                        },
                                        cni: { type: "object", properties: { type: { type: "string" }, ipam: { type: "object", properties: { type: { type: "string" } } }, binDir: { type: "string" } } },
                                        flexVolumePath: { type: "string" },
                                        kubeletVolumePluginPath: { type: "string" },
                                        registry: { type: "string" },
                                    },
                                },
                            },
                        },
                    },
                },
            ],
        },
    };
}

describe("Installation schema derivation (derive-installation-schema.ts)", () => {
    const derived = deriveSchema(miniCrd(), "test CRD", "0".repeat(64)) as any;
    const validate = z.fromJSONSchema(derived);
    const obj = (pools: unknown[], extra: Record<string, unknown> = {}) => ({
        apiVersion: "operator.tigera.io/v1",
        kind: "Installation",
        metadata: { name: "default" },
        spec: { calicoNetwork: { ipPools: pools, nodeAddressAutodetectionV6: { cidrs: ["fd00:1::/64"] }, ...extra } },
    });

    it("keeps only the fields the program renders, closed, without descriptions", () => {
        assert.deepEqual(Object.keys(derived.properties.spec.properties).sort(), [...KEEP.spec].sort());
        assert.equal(derived.properties.spec.additionalProperties, false);
        assert.equal(derived.properties.spec.properties.calicoNetwork.properties.mtu, undefined);
        assert.equal(derived.properties.spec.properties.calicoNetwork.properties.bgp.description, undefined);
        assert.deepEqual(derived.properties.metadata.properties.name.enum, ["default", "overlay"]);
    });

    it("splits pools by family with the operator's block sizes and no IPIP for IPv6", () => {
        const good = [
            { cidr: "10.42.0.0/16", blockSize: BLOCK_SIZES.ipv4.minimum, encapsulation: "IPIP" },
            { cidr: "fd00:42::/56", blockSize: BLOCK_SIZES.ipv6.maximum, encapsulation: "VXLAN" },
        ];
        assert.ok(validate.safeParse(obj(good)).success);
        assert.ok(!validate.safeParse(obj([{ cidr: "fd00:42::/56", encapsulation: "IPIPCrossSubnet" }])).success);
        assert.ok(!validate.safeParse(obj([{ cidr: "fd00:42::/56", blockSize: 26 }])).success);
        assert.ok(!validate.safeParse(obj([{ cidr: "10.42.0.0/16", blockSize: 122 }])).success);
    });

    it("turns the at-most-one autodetection rule into maxProperties 1", () => {
        assert.ok(!validate.safeParse(obj([], { nodeAddressAutodetectionV6: { cidrs: ["fd00:1::/64"], interface: "eth0" } })).success);
    });

    it("refuses a CEL rule it cannot translate instead of dropping it", () => {
        assert.throws(() => deriveSchema(miniCrd({ message: "something new", rule: "self.x > 1" }), "t", "0"), /CEL rule not translated/);
    });

    it("refuses to derive when the CRD lacks a field the program renders", () => {
        const crd = miniCrd() as any;
        delete crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.flexVolumePath;
        assert.throws(() => deriveSchema(crd, "t", "0"), /no field flexVolumePath/);
    });

    it("the committed schema keeps the same field selection", () => {
        const committed = JSON.parse(fs.readFileSync(path.join(ROOT, "components", "calico", "installation.schema.json"), "utf8"));
        assert.deepEqual(Object.keys(committed.properties.spec.properties).sort(), [...KEEP.spec].sort());
        assert.deepEqual(Object.keys(committed.properties.spec.properties.calicoNetwork.properties).sort(), [...KEEP["spec.calicoNetwork"]].sort());
    });
});
