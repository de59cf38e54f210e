// Optional tools of a test: a machine without them shows the test as pending with one line saying
// what to install, and CI (CI=true, which .ci/run's machine and GitHub's runners set) fails instead,
// because there the package list installs them and a silent skip would hide a broken CI image.
import { spawnSync } from "node:child_process";

export interface Tool {
    /** Commands that must all be on PATH. */
    commands: string[];
    /** The Debian package that brings them. */
    apt: string;
    /** What the test needs them for, in a few words. */
    purpose: string;
}

export function missingCommands(tool: Tool): string[] {
    return tool.commands.filter((c) => spawnSync("sh", ["-c", 'command -v "$1"', "sh", c], { stdio: "ignore" }).status !== 0);
}

/** True when the tests should fail rather than wait for a missing tool. */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
    return env.CI === "true" || env.CI === "1";
}

/**
 * The one way a test gives up on a missing tool: under CI an Error (the line plus why CI fails),
 * elsewhere the line on stderr and the test or suite marked pending.
 */
export function pendOrFail(ctx: Mocha.Context, line: string, env: NodeJS.ProcessEnv = process.env): void {
    if (underCi(env)) throw new Error(`${line} (CI=true: a missing tool fails here, .ci/run installs it)`);
    process.stderr.write(`  pending: ${line}\n`);
    ctx.skip();
}

/**
 * Call in a `before` hook (with `this`). Missing commands: under CI an Error naming the package;
 * elsewhere one line on stderr and the suite marked pending.
 */
export function requireToolOrPend(ctx: Mocha.Context, tool: Tool, env: NodeJS.ProcessEnv = process.env): void {
    const missing = missingCommands(tool);
    if (missing.length === 0) return;
    pendOrFail(ctx, `${tool.purpose} needs ${missing.join(", ")}: apt-get install -y ${tool.apt}`, env);
}
