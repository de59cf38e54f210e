// Where the lab's recording TEST DOUBLES of k3s and k0s live, and the air-gap folders a user would
// prepare with them (install.source: airgap), shared by the lab specs and the engine test.
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "../support/tmp";

export const K3S_DOUBLES = path.join(__dirname, "doubles", "k3s");
export const K3S_IMAGES = "k3s-airgap-images-amd64.tar.zst";
/** The k0s double is itself the air-gap folder's "binary". */
export const K0S_DOUBLE_DIR = path.join(__dirname, "doubles", "k0s");
/** The release the k0s double answers `k0s version` with; a stack must pin the same. */
export const K0S_DOUBLE_VERSION = /^VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(K0S_DOUBLE_DIR, "k0s"), "utf8"))![1];

/** A k3s air-gap folder as a user would prepare it, holding the doubles for `version`. */
export function k3sAirgapDir(version: string): string {
    const dir = tempDir("dualstack-k3s-airgap");
    fs.copyFileSync(path.join(K3S_DOUBLES, "install.sh"), path.join(dir, "install.sh"));
    const k3s = fs.readFileSync(path.join(K3S_DOUBLES, "k3s"), "utf8").replaceAll("__K3S_DOUBLE_VERSION__", version);
    fs.writeFileSync(path.join(dir, "k3s"), k3s, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, K3S_IMAGES), "TEST DOUBLE image tarball\n");
    return dir;
}
