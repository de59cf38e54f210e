// Locates the real kubeadm for `kubeadm config validate`: KUBEADM_BIN, else the engine cache's
// tool directory (`npm run -s engine:bin`, once the engine build script is on this branch). Outside
// CI a missing binary leaves the validation tests pending with one line saying why; under CI=true
// it is a failure, so CI never passes without the real tool having judged the rendered configs.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

let cached: { bin?: string; why: string } | undefined;

export function findKubeadm(): { bin?: string; why: string } {
    if (cached) return cached;
    const env = process.env.KUBEADM_BIN;
    if (env) {
        cached = fs.existsSync(env) ? { bin: env, why: "KUBEADM_BIN" } : { why: `KUBEADM_BIN=${env} does not exist` };
        return cached;
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts?: Record<string, string> };
    if (pkg.scripts?.["engine:bin"]) {
        const r = spawnSync("npm", ["run", "-s", "engine:bin"], { cwd: ROOT, encoding: "utf8", timeout: 30 * 60 * 1000 });
        const dir = r.status === 0 ? r.stdout.trim().split("\n").pop() : undefined;
        const bin = dir ? path.join(dir, "kubeadm") : undefined;
        cached = bin && fs.existsSync(bin) ? { bin, why: "npm run engine:bin" } : { why: `npm run -s engine:bin gave no kubeadm (${(r.stderr ?? "").trim().split("\n").pop() ?? ""})` };
        return cached;
    }
    cached = { why: "no kubeadm: set KUBEADM_BIN or build it with npm run engine:build" };
    return cached;
}

/**
 * `it` for a test that needs kubeadm: pending with one clear line when it is not available
 * (fails under CI=true instead).
 */
export function itWithKubeadm(title: string, fn: (kubeadm: string) => void): void {
    const found = findKubeadm();
    if (found.bin) {
        it(title, () => fn(found.bin!));
    } else if (process.env.CI === "true") {
        it(title, () => assert(false, `kubeadm is required under CI: ${found.why}`));
    } else {
        it(`${title} [pending: ${found.why}]`);
    }
}

function assert(ok: boolean, message: string): asserts ok {
    if (!ok) throw new Error(message);
}

/** Runs `kubeadm config validate --config <file>` on `text`; returns status and output. */
export function kubeadmValidate(kubeadm: string, text: string): { status: number | null; output: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dualstack-kubeadm-"));
    const file = path.join(dir, "kubeadm.yaml");
    fs.writeFileSync(file, text);
    try {
        const r = spawnSync(kubeadm, ["config", "validate", "--config", file], { encoding: "utf8", timeout: 60000 });
        return { status: r.status, output: `${r.stdout}${r.stderr}` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
