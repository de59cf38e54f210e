// `npx ts-node --transpile-only scripts/check-size.ts`: no function in components/ or index.ts longer
// than 100 lines, no file longer than 500 (issue 14). Generated files are exempt: their size is the
// upstream schema's, not a design choice. The unit test runs the same function.
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

export const MAX_FUNCTION_LINES = 100;
export const MAX_FILE_LINES = 500;
/** Generated from upstream schemas and chart layouts (see their derive-*.ts scripts). */
export const GENERATED = new Set(["components/calico/installation.schema.json", "components/traefik/chart-layout-41.3.0.ts"]);

export interface Oversize {
    file: string;
    what: string;
    lines: number;
    limit: number;
}

function sourceFiles(root: string): string[] {
    const out = ["index.ts"];
    const walk = (dir: string): void => {
        for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
            const rel = `${dir}/${e.name}`;
            if (e.isDirectory()) walk(rel);
            else if (/\.(ts|json)$/.test(e.name)) out.push(rel);
        }
    };
    walk("components");
    return out.sort();
}

function functionName(node: ts.Node): string {
    if (ts.isConstructorDeclaration(node)) return `constructor of ${(node.parent as ts.ClassDeclaration).name?.text ?? "class"}`;
    const named = node as ts.Node & { name?: ts.Node };
    if (named.name && ts.isIdentifier(named.name)) return named.name.text;
    if (ts.isVariableDeclaration(node.parent) && ts.isIdentifier(node.parent.name)) return node.parent.name.text;
    return "(anonymous function)";
}

/** Every function (declaration, method, constructor, arrow, expression) longer than the limit. */
export function longFunctions(file: string, text: string, limit = MAX_FUNCTION_LINES): Oversize[] {
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const out: Oversize[] = [];
    const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body) {
            const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
            const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
            const lines = last - first + 1;
            if (lines > limit) out.push({ file, what: `function ${functionName(node)}`, lines, limit });
        }
        ts.forEachChild(node, visit);
    };
    visit(sf);
    return out;
}

export function oversized(root: string): Oversize[] {
    const out: Oversize[] = [];
    for (const file of sourceFiles(root)) {
        if (GENERATED.has(file)) continue;
        const text = fs.readFileSync(path.join(root, file), "utf8");
        const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
        if (lines > MAX_FILE_LINES) out.push({ file, what: "file", lines, limit: MAX_FILE_LINES });
        if (file.endsWith(".ts")) out.push(...longFunctions(file, text));
    }
    return out;
}

if (require.main === module) {
    const found = oversized(path.resolve(__dirname, ".."));
    for (const o of found) console.log(`${o.file}: ${o.what} has ${o.lines} lines (limit ${o.limit})`);
    process.exit(found.length > 0 ? 1 : 0);
}
