// `npm run render -- <stack>`: validate the stack file and write everything the program would put
// on hosts and into the cluster to out/<stack>/, using the components' own render functions.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { loadPlan } from "../components/plan";
import { ConfigError } from "../components/problems";
import { planSummary, renderArtifacts } from "../components/render";

/** Turns a stack file's `config:` map into Pulumi's flat key -> string form. */
export function rawConfigFromStackFile(text: string): Record<string, string> {
    const doc = (parse(text) ?? {}) as { config?: Record<string, unknown> };
    const out: Record<string, string> = {};
    // Secure values cannot be decrypted here; they never influence rendered artifacts. They also
    // sit inside structured values (`pulumi config set --secret --path`, e.g. a BGP password).
    const open = (v: unknown): unknown =>
        v === null || typeof v !== "object" ? v : "secure" in (v as object) ? "(secret)" : Array.isArray(v) ? v.map(open) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, open(x)]));
    for (const [k, v] of Object.entries(doc.config ?? {})) {
        const value = open(v);
        out[k] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

export function renderStack(root: string, stack: string, outDir: string): { summary: string; files: string[] } {
    const file = path.join(root, "stacks", `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new Error(`no stack file ${file}`);
    const raw = rawConfigFromStackFile(fs.readFileSync(file, "utf8"));
    const { plan } = loadPlan((k) => raw[k], stack, Object.keys(raw));
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
    return { summary: planSummary(plan), files };
}

if (require.main === module) {
    const args = process.argv.slice(2);
    const rootFlag = args.indexOf("--root");
    // --root lets the tests render a stack folder other than this project's.
    const root = rootFlag >= 0 ? path.resolve(args.splice(rootFlag, 2)[1] ?? ".") : path.resolve(__dirname, "..");
    const stack = args[0];
    if (!stack) {
        console.error("usage: npm run render -- <stack> [--root DIR]   (renders DIR/stacks/Pulumi.<stack>.yaml)");
        process.exit(2);
    }
    try {
        const outDir = path.join(root, "out", stack);
        const { summary, files } = renderStack(root, stack, outDir);
        console.log(summary);
        console.log(`wrote ${files.length} files to ${path.relative(process.cwd(), outDir) || "."}`);
    } catch (e) {
        console.error(e instanceof ConfigError ? e.message : String(e));
        process.exit(1);
    }
}
