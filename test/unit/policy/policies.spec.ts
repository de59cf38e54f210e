// The policy pack as the Pulumi CLI runs it: policy/index.ts is started with @pulumi/pulumi's
// run-policy-pack (ts-node with type checking, like `pulumi preview --policy-pack policy`) and
// questioned over its gRPC Analyzer service on 127.0.0.1. Also the adapter from CrossGuard's
// arguments to the pure rules, with a recording double of ResourceValidationArgs.
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { ResourceValidationArgs } from "@pulumi/policy";
import * as analyzerpb from "@pulumi/pulumi/proto/analyzer_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { calicoSchema } from "../../../components/config";
import { dualstackPolicies, ruleConfig } from "../../../policy/policies";
import { DEFAULT_CONFIG, ResourceData, RULES } from "../../../policy/rules";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const PACK = path.join(ROOT, "policy");
const FIXTURES = path.join(ROOT, "test", "fixtures", "policy");

function fixture(file: string, name: string): ResourceData {
    const r = (JSON.parse(fs.readFileSync(path.join(FIXTURES, file), "utf8")) as ResourceData[]).find((x) => x.name === name);
    if (!r) throw new Error(`${file} has no resource ${name}`);
    return r;
}

/** A double of CrossGuard's ResourceValidationArgs: the fields the adapter reads, and the config it is given. */
function fakeArgs(r: ResourceData, config: object = {}): ResourceValidationArgs {
    const double = {
        type: r.type,
        name: r.name,
        urn: `urn:pulumi:test::dualstack::${r.type}::${r.name}`,
        props: r.props,
        opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, ...r.opts },
        getConfig: <T extends object>() => config as T,
    };
    return double as unknown as ResourceValidationArgs;
}

const ps = dualstackPolicies;

function run(r: ResourceData, config: object = {}): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const p of dualstackPolicies()) {
        const reported: string[] = [];
        const validate = p.validateResource;
        for (const v of Array.isArray(validate) ? validate : validate ? [validate] : []) v(fakeArgs(r, config), (m) => reported.push(m));
        if (reported.length) out[p.name] = reported;
    }
    return out;
}

describe("policy pack: CrossGuard adapter", () => {
    it("one mandatory policy per rule, same names, only the Calico one configurable", () => {
        const ps = dualstackPolicies();
        assert.deepEqual(ps.map((p) => p.name), RULES.map((r) => r.name));
        for (const p of ps) assert.equal(p.enforcementLevel, "mandatory");
        assert.deepEqual(ps.filter((p) => p.configSchema).map((p) => p.name), ["calico-ipv6-nat-outgoing"]);
        assert.equal(ps.find((p) => p.configSchema)!.configSchema!.properties.ipv6NatOutgoing.default, true);
    });

    it("defaults to what the stack config defaults to: a stack without calico.ipv6NatOutgoing passes the pack without pack config", () => {
        // The pack cannot read the stack's config, so its default must be the config schema's.
        const stackDefault = calicoSchema.parse({}).ipv6NatOutgoing;
        assert.equal(DEFAULT_CONFIG.ipv6NatOutgoing, stackDefault);
        assert.equal(ps().find((p) => p.configSchema)!.configSchema!.properties.ipv6NatOutgoing.default, stackDefault);
        assert.deepEqual(ruleConfig({ getConfig: <T extends object>() => ({}) as T }), { ipv6NatOutgoing: stackDefault });
    });

    it("reports a rule's violations through reportViolation, passing resource options on", () => {
        assert.deepEqual(run(fixture("lab-k3s.good.json", "cluster-cp1-kubeconfig")), {});
        const bad = fixture("bad.json", "admin-conf-stdout-not-secret");
        assert.deepEqual(Object.keys(run(bad)), ["credential-commands-not-logged"]);
        // The stdout check depends on the options the adapter copies from args.opts.
        assert.deepEqual(run({ ...bad, opts: { additionalSecretOutputs: ["stdout"] } }), {});
    });

    it("config: default ipv6NatOutgoing=true when the pack config says nothing; a boolean overrides it", () => {
        assert.deepEqual(ruleConfig({ getConfig: <T extends object>() => ({}) as T }), { ipv6NatOutgoing: true });
        assert.deepEqual(ruleConfig({ getConfig: <T extends object>() => ({ ipv6NatOutgoing: false }) as T }), { ipv6NatOutgoing: false });
        const cr = fixture("custom-calico.good.json", "calico-installation");
        assert.deepEqual(run(cr), {});
        assert.match(run(cr, { ipv6NatOutgoing: false })["calico-ipv6-nat-outgoing"][0], /expects Disabled/);
    });
});

// ---------------------------------------------------------------------------------------------

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // how the engine sends a value not known during preview

function call<Req, Res>(fn: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

function analyzeRequest(r: ResourceData): analyzerpb.AnalyzeRequest {
    const opts = new analyzerpb.AnalyzerResourceOptions();
    opts.setAdditionalsecretoutputsList([...(r.opts?.additionalSecretOutputs ?? [])]);
    if (r.opts?.deleteBeforeReplace !== undefined) {
        opts.setDeletebeforereplacedefined(true);
        opts.setDeletebeforereplace(r.opts.deleteBeforeReplace);
    }
    const req = new analyzerpb.AnalyzeRequest();
    req.setType(r.type);
    req.setName(r.name);
    req.setUrn(`urn:pulumi:lab::dualstack::${r.type}::${r.name}`);
    req.setProperties(Struct.fromJavaScript(r.props as Record<string, any>));
    req.setOptions(opts);
    return req;
}

interface Diagnostic {
    policy: string;
    level: "advisory" | "mandatory";
    message: string;
}

describe("policy pack: served over gRPC as the Pulumi CLI runs it", function () {
    this.timeout(60000);
    let child: ChildProcess | undefined;
    let client: AnalyzerClient;
    let stderr = "";

    before(async () => {
        // The CLI starts `<pack's @pulumi/pulumi>/cmd/run-policy-pack <engine> <pack dir>` in the pack
        // directory; the pack's package.json must carry a version (PolicyPack reads it).
        const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [PACK] });
        child = spawn(process.execPath, [runner, "127.0.0.1:0", "."], { cwd: PACK, stdio: ["ignore", "pipe", "pipe"] });
        child.stderr!.on("data", (d) => (stderr += String(d)));
        const port = await new Promise<number>((resolve, reject) => {
            let out = "";
            child!.stdout!.on("data", (d) => {
                out += String(d);
                const m = /^(\d+)\s*$/m.exec(out);
                if (m) resolve(Number(m[1]));
            });
            child!.on("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
        });
        client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        if (child && child.exitCode === null) child.kill();
    });

    async function analyze(r: ResourceData): Promise<Diagnostic[]> {
        const res = await call<analyzerpb.AnalyzeRequest, analyzerpb.AnalyzeResponse>(client.analyze.bind(client), analyzeRequest(r));
        return res.getDiagnosticsList().map((d) => ({
            policy: d.getPolicyname(),
            level: d.getEnforcementlevel() === analyzerpb.EnforcementLevel.MANDATORY ? "mandatory" : "advisory",
            message: d.getMessage(),
        }));
    }

    async function configure(ipv6NatOutgoing?: boolean): Promise<void> {
        const req = new analyzerpb.ConfigureAnalyzerRequest();
        if (ipv6NatOutgoing !== undefined) {
            const c = new analyzerpb.PolicyConfig();
            c.setEnforcementlevel(analyzerpb.EnforcementLevel.MANDATORY);
            c.setProperties(Struct.fromJavaScript({ ipv6NatOutgoing }));
            req.getPolicyconfigMap().set("calico-ipv6-nat-outgoing", c);
        }
        await call<analyzerpb.ConfigureAnalyzerRequest, Empty>(client.configure.bind(client), req);
    }

    it("describes itself as the `dualstack` pack with the five policies", async () => {
        const info = await call<Empty, analyzerpb.AnalyzerInfo>(client.getAnalyzerInfo.bind(client), new Empty());
        assert.equal(info.getName(), "dualstack");
        assert.equal(info.getVersion(), JSON.parse(fs.readFileSync(path.join(PACK, "package.json"), "utf8")).version);
        assert.deepEqual(info.getPoliciesList().map((p) => p.getName()), RULES.map((r) => r.name));
    });

    it("passes a good recording and reports each bad one as a mandatory violation of the right policy", async () => {
        assert.deepEqual(await analyze(fixture("lab-k3s.good.json", "traefik-release")), []);
        assert.deepEqual(await analyze(fixture("lab-k0s.good.json", "cluster-worker1-install")), []);
        const cases: [file: string, name: string, policy: string][] = [
            ["bad.json", "traefik-prefer-single-family", "traefik-service-dual-stack"],
            ["bad.json", "k3s-kubeconfig-logged", "credential-commands-not-logged"],
            ["bad.json", "k3s-install-irreversible", "install-commands-have-delete"],
            ["bad.json", "chart-values-gate-key", "no-ipv6dualstack-feature-gate"],
        ];
        for (const [file, name, policy] of cases) {
            const ds = await analyze(fixture(file, name));
            assert.ok(ds.length > 0, name);
            for (const d of ds) assert.deepEqual([d.policy, d.level], [policy, "mandatory"], `${name}: ${d.message}`);
        }
        // deleteBeforeReplace travels as an option, not an input.
        const ipv6 = fixture("bad.json", "ipv6-address-create-before-delete");
        assert.equal((await analyze(ipv6)).length, 1);
        assert.deepEqual(await analyze({ ...ipv6, opts: { deleteBeforeReplace: true } }), []);
    });

    it("takes ipv6NatOutgoing from --policy-pack-config, defaulting to true", async () => {
        const cr = fixture("custom-calico.good.json", "calico-installation");
        try {
            await configure(false);
            const ds = await analyze(cr);
            assert.deepEqual(ds.map((d) => [d.policy, d.level]), [["calico-ipv6-nat-outgoing", "mandatory"]]);
            assert.match(ds[0].message, /expects Disabled/);
        } finally {
            await configure();
        }
        assert.deepEqual(await analyze(cr), []);
    });

    it("a value unknown during preview gives an advisory note, not a violation", async () => {
        const r = fixture("lab-k3s.good.json", "traefik-release");
        const ds = await analyze({ ...r, props: { ...r.props, values: { service: { spec: { ipFamilyPolicy: "RequireDualStack", ipFamilies: UNKNOWN } } } } });
        assert.ok(ds.length > 0);
        for (const d of ds) {
            assert.equal(d.level, "advisory", d.message);
            assert.match(d.message, /can't run policy '.*' from policy pack 'dualstack@v.*' during preview/);
        }
        assert.ok(ds.some((d) => d.policy === "traefik-service-dual-stack"));
    });
});
