// Derives the small, committed JSON Schema of the Installation fields this program renders
// (installation.schema.json) from the Tigera operator's published Installation CRD, so the test
// suite can check the rendered Installation against the operator's API without reading the 1.5 MB
// CRD at test time (the suite must pass on a fresh clone). Run it again when the pinned Calico
// version moves to a new operator API, or when the program starts rendering another field:
//
//   npx ts-node --transpile-only components/calico/derive-installation-schema.ts \
//       <path to operator.tigera.io_installations.yaml> "<source note>" > components/calico/installation.schema.json
//
// What is kept: the CRD's own types, enums, required lists, maxItems, and its CEL rules where JSON
// Schema can say the same thing (the Installation name rule as an enum; the "no more than one
// autodetection method" rule as maxProperties 1, which is stricter than the CEL rule and so never
// accepts what the API server refuses). Objects are closed (additionalProperties false) because the
// API server prunes unknown fields silently: a typo would validate and then vanish.
// What is added (the CRD does not say it; the operator's validation does, tigera/operator
// pkg/controller/ippool/validation.go, same in v1.42.3 and main, see domain facts B.2): per-family
// pool shapes, IPv4 block size 20-32 and IPv6 116-128, and no IPIP encapsulation on an IPv6 pool.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { parse } from "yaml";
import { byCodePoint } from "../order";

type Node = Record<string, unknown>;

/** The Installation fields the program renders; anything else is left out of the derived schema. */
export const KEEP: Record<string, string[]> = {
    spec: ["calicoNetwork", "cni", "flexVolumePath", "kubeletVolumePluginPath"],
    "spec.calicoNetwork": ["bgp", "containerIPForwarding", "ipPools", "nodeAddressAutodetectionV4", "nodeAddressAutodetectionV6"],
    "spec.cni": ["ipam", "type"],
};

const AT_MOST_ONE = "no more than one autodetection method can be specified";

/** Operator validation (pkg/controller/ippool/validation.go): block size ranges per family. */
export const BLOCK_SIZES = { ipv4: { minimum: 20, maximum: 32 }, ipv6: { minimum: 116, maximum: 128 } };

function pick(props: Node, names: string[] | undefined): Node {
    if (!names) return props;
    const out: Node = {};
    for (const n of names) {
        if (!(n in props)) throw new Error(`the CRD has no field ${n}; the program renders it`);
        out[n] = props[n];
    }
    return out;
}

/** Converts one OpenAPI v3 node of the CRD to plain JSON Schema, keeping only what validates. */
export function convert(node: Node, path: string): Node {
    const out: Node = {};
    for (const k of ["type", "enum", "required", "maxItems", "minItems", "minimum", "maximum", "pattern"]) {
        if (node[k] !== undefined) out[k] = node[k];
    }
    const rules = (node["x-kubernetes-validations"] as { rule: string; message: string }[] | undefined) ?? [];
    for (const r of rules) {
        if (r.message === AT_MOST_ONE) {
            out.maxProperties = 1;
            out.$comment = `CRD rule "${AT_MOST_ONE}", stricter here: exactly the one method we set`;
        } else {
            throw new Error(`${path}: CEL rule not translated: ${r.rule}`);
        }
    }
    if (node.properties) {
        const props = pick(node.properties as Node, KEEP[path]);
        out.properties = Object.fromEntries(Object.entries(props).sort(([a], [b]) => byCodePoint(a, b)).map(([k, v]) => [k, convert(v as Node, `${path}.${k}`)]));
        out.additionalProperties = false;
    }
    if (node.items) out.items = convert(node.items as Node, `${path}[]`);
    return out;
}

/** Splits the CRD's single IP pool item into the IPv4 and IPv6 shapes the operator accepts. */
function poolShapes(item: Node): Node {
    const props = item.properties as Record<string, Node>;
    const shape = (family: "ipv4" | "ipv6"): Node => ({
        ...item,
        properties: {
            ...props,
            cidr: { ...props.cidr, pattern: family === "ipv4" ? "^[0-9]+(\\.[0-9]+){3}/[0-9]+$" : "^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/[0-9]+$" },
            blockSize: { type: "integer", ...BLOCK_SIZES[family] },
            encapsulation:
                family === "ipv4"
                    ? props.encapsulation
                    : { ...props.encapsulation, enum: (props.encapsulation.enum as string[]).filter((e) => !e.startsWith("IPIP")) },
        },
    });
    return { anyOf: [shape("ipv4"), shape("ipv6")] };
}

export function deriveSchema(crd: Node, source: string, sha256: string): Node {
    const spec = crd.spec as Node;
    const version = (spec.versions as Node[]).find((v) => v.name === "v1");
    if (!version) throw new Error("the CRD has no v1 version");
    const root = (version.schema as Node).openAPIV3Schema as Node;
    const nameRule = ((root["x-kubernetes-validations"] as { rule: string }[] | undefined) ?? []).map((r) => r.rule).find((r) => r.includes("self.metadata.name"));
    const names = nameRule ? [...nameRule.matchAll(/self\.metadata\.name == '([^']+)'/g)].map((m) => m[1]) : [];
    if (names.length === 0) throw new Error("the CRD's Installation name rule was not found");
    const specSchema = convert((root.properties as Node).spec as Node, "spec");
    const calicoNetwork = (specSchema.properties as Record<string, Node>).calicoNetwork;
    const ipPools = (calicoNetwork.properties as Record<string, Node>).ipPools;
    ipPools.items = poolShapes(ipPools.items as Node);
    return {
        $comment: `GENERATED by components/calico/derive-installation-schema.ts; do not edit by hand, re-derive instead. Source: ${source} (sha256 ${sha256}). Block size ranges and the IPv6 encapsulation enum come from the operator's validation (pkg/controller/ippool/validation.go), not from the CRD.`,
        $schema: "http://json-schema.org/draft-07/schema#",
        type: "object",
        required: ["apiVersion", "kind", "metadata", "spec"],
        additionalProperties: false,
        properties: {
            apiVersion: { type: "string", enum: [`${spec.group}/${version.name}`] },
            kind: { type: "string", enum: [(spec.names as Node).kind] },
            metadata: {
                type: "object",
                required: ["name"],
                additionalProperties: false,
                properties: {
                    name: { type: "string", enum: names },
                    annotations: { type: "object", additionalProperties: { type: "string" } },
                    labels: { type: "object", additionalProperties: { type: "string" } },
                },
            },
            spec: specSchema,
        },
    };
}

if (require.main === module) {
    const [file, source] = process.argv.slice(2);
    if (!file || !source) {
        console.error("usage: derive-installation-schema.ts <operator.tigera.io_installations.yaml> <source note>");
        process.exit(2);
    }
    const text = fs.readFileSync(file, "utf8");
    const sha = createHash("sha256").update(text).digest("hex");
    process.stdout.write(JSON.stringify(deriveSchema(parse(text) as Node, source, sha), null, 2) + "\n");
}
