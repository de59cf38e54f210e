// Installers pinned to the tag: URLs, install.sha256 rules, and a real run of the digest checks with a download double.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { installSha256Findings, k0sBinaryLines, k3sInstallerLines, k3sInstallerUrl, k0sReleaseUrl } from "../../components/installers";
import { profileOf } from "../../components/distributions";
import { script } from "../../components/shell";
import { tempDir } from "../support/tmp";

describe("pinned installers", () => {
    it("URLs name the tag (its + encoded), never get.k3s.io / get.k0s.sh", () => {
        assert.equal(k3sInstallerUrl("v1.33.5+k3s1"), "https://raw.githubusercontent.com/k3s-io/k3s/v1.33.5%2Bk3s1/install.sh");
        assert.equal(k0sReleaseUrl("v1.36.3+k0s.2", "k0s-v1.36.3+k0s.2-arm64"), "https://github.com/k0sproject/k0s/releases/download/v1.36.3%2Bk0s.2/k0s-v1.36.3%2Bk0s.2-arm64");
    });

    const sha = "a".repeat(64);
    const cases: [string, "k3s" | "k0s", "script" | "airgap", Record<string, string>, RegExp | undefined][] = [
        ["k3s install.sh", "k3s", "script", { "install.sh": sha }, undefined],
        ["k0s amd64 binary", "k0s", "script", { "k0s-v1.36.3+k0s.2-amd64": sha }, undefined],
        ["k0s binary of another version", "k0s", "script", { "k0s-v1.35.1+k0s.0-amd64": sha }, /names no file/],
        ["not a digest", "k3s", "script", { "install.sh": "abc" }, /SHA-256/],
        ["uppercase digest", "k3s", "script", { "install.sh": sha.toUpperCase() }, /SHA-256/],
        ["with airgap", "k3s", "airgap", { "install.sh": sha }, /airgap/],
    ];
    for (const [what, dist, source, pins, want] of cases) {
        it(`install.sha256: ${what}`, () => {
            const f = installSha256Findings({ name: dist, profile: profileOf(dist).dayTwo.installSha256 }, dist === "k3s" ? "v1.33.5+k3s1" : "v1.36.3+k0s.2", source, pins);
            if (want) assert.ok(f.errors.some((e) => want.test(e.rule)), JSON.stringify(f.errors));
            else assert.deepEqual(f.errors, []);
        });
    }

    it("install.sha256 with kubeadm: refused, saying the package repository's signature covers what is installed", () => {
        const f = installSha256Findings({ name: "kubeadm", profile: profileOf("kubeadm").dayTwo.installSha256 }, "v1.36.3", "script", { kubeadm: sha });
        assert.equal(f.errors.length, 1);
        assert.equal(f.errors[0].key, "dualstack:install.sha256");
        assert.match(f.errors[0].rule, /repository signature/);
        assert.deepEqual(installSha256Findings({ name: "kubeadm", profile: profileOf("kubeadm").dayTwo.installSha256 }, "v1.36.3", "script", {}).errors, []);
    });

    /** Runs `lines` with a download double on PATH that writes `body` for any URL. */
    function runWithDownload(lines: string[], body: string, sums?: string): { status: number | null; stderr: string; dir: string } {
        const dir = tempDir("dualstack-dl");
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        // TEST DOUBLE of curl: `-o FILE URL`; the checksum file gets `sums`, anything else `body`.
        fs.writeFileSync(path.join(bin, "curl"), `#!/bin/sh\nout=""; url=""\nwhile [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift ;; https://*) url="$1" ;; esac; shift; done\ncase "$url" in *sha256sums.txt) cat "${dir}/sums" > "$out" ;; *) printf '%s' "$BODY" > "$out" ;; esac\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "sums"), sums ?? "");
        const res = spawnSync("sh", ["-c", script(...lines)], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, BODY: body } });
        return { status: res.status, stderr: res.stderr, dir };
    }
    const digest = (s: string) => require("node:crypto").createHash("sha256").update(s).digest("hex");

    it("k3s: a pinned install.sh that does not match fails clearly before it runs; a match runs", () => {
        const good = "echo installer-ran";
        const ran = (pin: string) => runWithDownload([...k3sInstallerLines("v1.33.5+k3s1", { "install.sh": pin }), 'sh "$installer"'], good);
        const bad = ran(digest("something else"));
        assert.notEqual(bad.status, 0);
        assert.match(bad.stderr, /install.sh of k3s v1.33.5\+k3s1 has sha256 .*, expected .*nothing was installed/);
        assert.equal(ran(digest(good)).status, 0);
    });

    it("k0s: the binary must match the release's sha256sums.txt and the pin; only then is it moved into place", () => {
        const bin = "#!/bin/sh\necho v1.36.3+k0s.2\n";
        const arch = ({ x64: "amd64", arm64: "arm64", arm: "arm" } as Record<string, string>)[os.arch()];
        if (!arch) return;
        const asset = `k0s-v1.36.3+k0s.2-${arch}`;
        const run = (sums: string, pins: Record<string, string> = {}) => {
            const dir = tempDir("dualstack-k0s");
            const dest = path.join(dir, "k0s");
            const r = runWithDownload(k0sBinaryLines("v1.36.3+k0s.2", pins, dest), bin, sums);
            return { ...r, installed: fs.existsSync(dest) };
        };
        const ok = run(`${digest(bin)} *${asset}\n`);
        assert.equal(ok.status, 0, ok.stderr);
        assert.ok(ok.installed);
        const tampered = run(`${digest("other")} *${asset}\n`);
        assert.ok(tampered.status !== 0 && !tampered.installed && /release sha256sums.txt/.test(tampered.stderr));
        const unlisted = run(`${digest(bin)} *k0s-v1.36.3+k0s.2-other\n`);
        assert.ok(unlisted.status !== 0 && !unlisted.installed && /not listed/.test(unlisted.stderr));
        const pinned = run(`${digest(bin)} *${asset}\n`, { [asset]: digest("other") });
        assert.ok(pinned.status !== 0 && !pinned.installed && /install.sha256/.test(pinned.stderr));
    });
});
