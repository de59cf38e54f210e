// Locates the real kubeadm for `kubeadm config validate`: KUBEADM_BIN, else the engine cache's
// tool directory when `npm run engine:build` has finished (never a build from here). Outside
// CI a missing binary leaves the validation tests pending with one line saying why; under CI=true
// it is a failure, so CI never passes without the real tool having judged the rendered configs.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { cachedBinDir } from "../../scripts/engine-build";
import { underCi } from "./tools";
import { tempDir } from "./tmp";


let cached: { bin?: string; why: string } | undefined;

export function findKubeadm(): { bin?: string; why: string } {
    if (cached) return cached;
    const env = process.env.KUBEADM_BIN;
    if (env) {
        cached = fs.existsSync(env) ? { bin: env, why: "KUBEADM_BIN" } : { why: `KUBEADM_BIN=${env} does not exist` };
        return cached;
    }
    // Only a finished engine build counts: npm test must never start a cold Go build.
    const dir = cachedBinDir();
    if (dir && fs.existsSync(path.join(dir, "kubeadm"))) {
        cached = { bin: path.join(dir, "kubeadm"), why: "engine cache" };
        return cached;
    }
    cached = { why: "kubeadm not built: run npm run engine:build (or set KUBEADM_BIN)" };
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
    } else if (underCi()) {
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
    const dir = tempDir("dualstack-kubeadm");
    const file = path.join(dir, "kubeadm.yaml");
    fs.writeFileSync(file, text);
    try {
        const r = spawnSync(kubeadm, ["config", "validate", "--config", file], { encoding: "utf8", timeout: 60000 });
        return { status: r.status, output: `${r.stdout}${r.stderr}` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
