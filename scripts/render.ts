// `npm run render -- <stack>`: validate the stack file and write everything the program would put
// on hosts and into the cluster to out/<stack>/, using the components' own render functions.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { SECURE_VALUE } from "../components/config";
import { ConfigError } from "../components/problems";
import { planSummary, renderArtifacts } from "../components/render";
import { validateStack } from "../components/stack";

/** A stack file that cannot be read as YAML, named by its path. */
export class StackFileError extends Error {}

function isSecure(v: unknown): boolean {
    return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 1 && "secure" in (v as object);
}

/** Replaces every `{secure: ...}` (at any depth, as `config set --secret --path` writes) with SECURE_VALUE. */
function hideSecure(v: unknown): unknown {
    if (isSecure(v)) return SECURE_VALUE;
    if (Array.isArray(v)) return v.map(hideSecure);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hideSecure(x)]));
    return v;
}

/**
 * Turns a stack file's `config:` map into Pulumi's flat key -> string form. Secure values are
 * never decrypted: they become SECURE_VALUE, which validation treats as present and secret.
 */
export function rawConfigFromStackFile(text: string, file = "stack file"): Record<string, string> {
    let doc: unknown;
    try {
        doc = parse(text) ?? {};
    } catch (e) {
        throw new StackFileError(`${file}: not valid YAML: ${(e as Error).message.split("\n")[0]}. Fix: correct the YAML syntax at that line (indentation, a missing space after a colon, an unclosed quote or bracket).`);
    }
    const config = (doc as { config?: unknown }).config ?? {};
    if (typeof doc !== "object" || config === null || typeof config !== "object" || Array.isArray(config)) {
        throw new StackFileError(`${file}: has no config: map. Fix: put the keys under a top-level config: map, as in stacks/Pulumi.lab-k3s.yaml.`);
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
        const value = hideSecure(v);
        out[k] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

export interface RenderOptions {
    /** Do not read key files or the air-gap folder (a machine that lacks them, e.g. a PR's render diff). */
    noLocalFiles?: boolean;
}

export function renderStack(root: string, stack: string, outDir: string, opts: RenderOptions = {}): { summary: string; files: string[] } {
    const file = path.join(root, "stacks", `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new StackFileError(`no stack file ${file}. Fix: create it with pulumi stack init ${stack}, or name a stack under ${path.join(root, "stacks")}.`);
    const raw = rawConfigFromStackFile(fs.readFileSync(file, "utf8"), path.relative(process.cwd(), file) || file);
    // The same validation `pulumi up` runs (components/stack.ts), local files included.
    const { plan } = validateStack((k) => raw[k], stack, Object.keys(raw), { skipLocalFiles: opts.noLocalFiles });
    const files: string[] = [];
    fs.rmSync(outDir, { recursive: true, force: true });
    fs.mkdirSync(outDir, { recursive: true });
    for (const a of renderArtifacts(plan)) {
        const dest = path.join(outDir, a.path);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, a.content, { mode: a.path.endsWith(".sh") ? 0o755 : 0o644 });
        files.push(a.path);
    }
    fs.writeFileSync(path.join(outDir, "plan.json"), JSON.stringify(plan, null, 2) + "\n");
    files.push("plan.json");
    const summary = planSummary(plan) + (opts.noLocalFiles ? "\nlocal files not checked (--no-local-files): key files and install.airgapDir are checked by pulumi up" : "");
    return { summary, files };
}

if (require.main === module) {
    const args = process.argv.slice(2);
    const noLocal = args.indexOf("--no-local-files");
    if (noLocal >= 0) args.splice(noLocal, 1);
    const rootFlag = args.indexOf("--root");
    // --root lets the tests render a stack folder other than this project's.
    const root = rootFlag >= 0 ? path.resolve(args.splice(rootFlag, 2)[1] ?? ".") : path.resolve(__dirname, "..");
    const stack = args[0];
    if (!stack) {
        console.error("usage: npm run render -- <stack> [--root DIR] [--no-local-files]   (renders DIR/stacks/Pulumi.<stack>.yaml)");
        process.exit(2);
    }
    try {
        const outDir = path.join(root, "out", stack);
        const { summary, files } = renderStack(root, stack, outDir, { noLocalFiles: noLocal >= 0 });
        console.log(summary);
        console.log(`wrote ${files.length} files to ${path.relative(process.cwd(), outDir) || "."}`);
    } catch (e) {
        console.error(e instanceof ConfigError || e instanceof StackFileError ? e.message : String(e));
        process.exit(1);
    }
}
