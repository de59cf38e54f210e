// The Go modules the control-plane lab builds (test/engine/modules/{etcd,kube-apiserver,kubeadm,kubectl})
// and the test data pinned with them: the generated staging replaces agree with the Kubernetes
// version each module requires, and the Installation CRD fixture belongs to the pinned Calico minor.
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { calicoSchema } from "../../components/config";
import { renderReplaceBlock, stagingReplaces, withReplaceBlock } from "../../scripts/k8s-staging-replaces";

const MODULES = path.join(__dirname, "..", "engine", "modules");
const FIXTURES = path.join(__dirname, "..", "fixtures", "crds");

// A cut-down go.mod in k8s.io/kubernetes' own layout (require block at v0.0.0, local replaces).
const KUBERNETES_GO_MOD = `module k8s.io/kubernetes

go 1.26.0

require (
	github.com/spf13/cobra v1.10.0
	k8s.io/api v0.0.0
	k8s.io/apiserver v0.0.0
	k8s.io/utils v0.0.0-20260210185600-b8788abfbbc2
)

require k8s.io/sample-cli-plugin v0.0.0 // indirect

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/apiserver => ./staging/src/k8s.io/apiserver
	k8s.io/sample-cli-plugin => ./staging/src/k8s.io/sample-cli-plugin
)
`;

describe("engine Go modules for the control-plane lab", () => {
    it("generates one replace per staging module at v0.MINOR.PATCH, sorted, and never for real pseudo-versions", () => {
        assert.deepEqual(stagingReplaces(KUBERNETES_GO_MOD, "v1.36.3"), [
            { module: "k8s.io/api", version: "v0.36.3" },
            { module: "k8s.io/apiserver", version: "v0.36.3" },
            { module: "k8s.io/sample-cli-plugin", version: "v0.36.3" },
        ]);
        assert.throws(() => stagingReplaces(KUBERNETES_GO_MOD, "1.36.3"), /v1\.MINOR\.PATCH/);
        assert.throws(() => stagingReplaces("module x\n", "v1.36.3"), /no \.\/staging\/src replaces/);
        assert.throws(() => stagingReplaces(KUBERNETES_GO_MOD.replace("\tk8s.io/api => ./staging/src/k8s.io/api\n", ""), "v1.36.3"), /without a \.\/staging\/src replace: k8s\.io\/api$/);
        const once = withReplaceBlock("module m\n", renderReplaceBlock(stagingReplaces(KUBERNETES_GO_MOD, "v1.36.3")));
        // Re-running replaces the block instead of appending a second one.
        assert.equal(withReplaceBlock(once, renderReplaceBlock(stagingReplaces(KUBERNETES_GO_MOD, "v1.36.3"))), once);
    });

    for (const tool of ["kube-apiserver", "kubeadm", "kubectl"]) {
        it(`${tool}: go.mod requires k8s.io/kubernetes at tool.json's version, every staging replace matches it`, () => {
            const goMod = fs.readFileSync(path.join(MODULES, tool, "go.mod"), "utf8");
            const spec = JSON.parse(fs.readFileSync(path.join(MODULES, tool, "tool.json"), "utf8"));
            assert.equal(spec.binary, tool);
            assert.equal(spec.package, `k8s.io/kubernetes/cmd/${tool}`);
            assert.match(goMod, new RegExp(`^tool k8s\\.io/kubernetes/cmd/${tool}$`, "m"));
            const required = /^\s*k8s\.io\/kubernetes (v1\.\d+\.\d+)/m.exec(goMod.replace(/^require /gm, "\t"))?.[1];
            assert.equal(required, spec.version);
            const [, minor, patch] = /^v1\.(\d+)\.(\d+)$/.exec(spec.version)!;
            const replaces = [...goMod.matchAll(/^\t(k8s\.io\/\S+) => (\S+) (\S+)$/gm)];
            assert.ok(replaces.length >= 30, `expected the generated staging replaces, found ${replaces.length}`);
            for (const [, from, to, version] of replaces) {
                assert.equal(to, from);
                assert.equal(version, `v0.${minor}.${patch}`, from);
            }
            assert.equal(spec.x["k8s.io/component-base/version.gitVersion"], spec.version);
            assert.equal(spec.x["k8s.io/component-base/version.gitMinor"], minor);
        });
    }

    it("etcd: the server module at the version Kubernetes' go.mod builds against", () => {
        const goMod = fs.readFileSync(path.join(MODULES, "etcd", "go.mod"), "utf8");
        const spec = JSON.parse(fs.readFileSync(path.join(MODULES, "etcd", "tool.json"), "utf8"));
        assert.match(goMod, /^tool go\.etcd\.io\/etcd\/server\/v3$/m);
        assert.match(goMod, new RegExp(`go\\.etcd\\.io/etcd/server/v3 ${spec.version.replace(/\./g, "\\.")}`));
        const apiserver = fs.readFileSync(path.join(MODULES, "kube-apiserver", "go.mod"), "utf8");
        assert.match(apiserver, new RegExp(`go\\.etcd\\.io/etcd/client/v3 ${spec.version.replace(/\./g, "\\.")}`));
    });

    it("the Installation CRD fixture is the recorded file and belongs to calico.version's minor", () => {
        const readme = fs.readFileSync(path.join(FIXTURES, "README.md"), "utf8");
        const crd = fs.readFileSync(path.join(FIXTURES, "operator.tigera.io_installations.yaml"));
        assert.ok(readme.includes(crypto.createHash("sha256").update(crd).digest("hex")), "README's sha256 is the file's");
        const minor = /calico: (v\d+\.\d+)/.exec(readme)?.[1];
        const pinned = calicoSchema.parse({}).version;
        assert.equal(pinned.split(".").slice(0, 2).join("."), minor, `calico.version ${pinned}: refresh test/fixtures/crds for it`);
    });
});
