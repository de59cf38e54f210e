// Temporary directories for tests, all removed when the test process ends: after a passing run, a
// failing one, or mocha's `exit: true` (lab, engine), and on SIGINT/SIGTERM. Removing them at
// process end rather than per test keeps alive any directory a test hands to a child process or to
// the lab hosts until those are gone, and needs no hook in any of the three mocha configs.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const dirs = new Set<string>();
let hooked = false;

/** A fresh directory `<parent>/<prefix>-XXXXXX` (parent: the OS temp dir), removed when the process ends. */
export function tempDir(prefix: string, parent = os.tmpdir()): string {
    const dir = fs.mkdtempSync(path.join(parent, `${prefix}-`));
    removeAtExit(dir);
    return dir;
}

/** Removes `dir` now (e.g. in an afterEach, so a long suite does not pile them up); safe to call twice. */
export function removeTempDir(dir: string): void {
    fs.rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
}

/** Registers a directory created elsewhere for removal when the process ends. */
export function removeAtExit(dir: string): void {
    dirs.add(dir);
    if (hooked) return;
    hooked = true;
    process.on("exit", removeAll);
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => {
            removeAll();
            // Our listener replaced the default action: die by the same signal once it is removed.
            if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
        });
    }
}

function removeAll(): void {
    for (const dir of dirs) {
        try {
            fs.rmSync(dir, { recursive: true, force: true });
        } catch {
            // Best effort at exit: a directory another process still holds must not mask the test result.
        }
    }
    dirs.clear();
}
