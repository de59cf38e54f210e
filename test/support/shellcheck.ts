// The one way tests reach shellcheck. README's test command needs nothing beyond `npm ci`, so on a
// machine without shellcheck the lint tests are pending (mocha's skip) with one line saying so;
// under CI=true they fail instead, so CI can never skip them silently (.ci/run installs shellcheck).
import { spawnSync, SpawnSyncReturns } from "node:child_process";

export const SHELLCHECK_MISSING = "shellcheck not installed: apt-get install shellcheck; the scripts were not linted";

let available: boolean | undefined;

export function shellcheckAvailable(): boolean {
    if (available === undefined) available = !spawnSync("shellcheck", ["--version"], { stdio: "ignore" }).error;
    return available;
}

/**
 * Call first in a test (a `function () {}`, not an arrow) or `before` hook that needs shellcheck.
 * Without shellcheck: fails under CI=true, otherwise prints the line and marks the test pending.
 */
export function requireShellcheck(ctx: Mocha.Context): void {
    if (shellcheckAvailable()) return;
    if (process.env.CI === "true") throw new Error(`${SHELLCHECK_MISSING} (CI=true: lint tests must not be skipped)`);
    console.log(`      ${SHELLCHECK_MISSING}`);
    ctx.skip();
}

/** Runs shellcheck; an error to start it (after requireShellcheck) is a real failure. */
export function shellcheck(args: string[], input?: string): SpawnSyncReturns<string> {
    const r = spawnSync("shellcheck", args, { input, encoding: "utf8" });
    if (r.error) throw new Error(`shellcheck could not run: ${r.error.message}`);
    return r;
}
