// `npm run engine:build` / `npm run -s engine:bin`: builds the real Pulumi tools (CLI, provider
// plugins, and whatever other tools the lab needs) from Go modules into a cache outside the repo.
//
// Every directory test/engine/modules/<tool>/ holding go.mod, go.sum and tool.json is one tool; the
// script needs no change when a directory is added. tool.json (ToolSpec below) says which package to
// build and how. Each tool is cached under a key derived from its pinned files and the Go version,
// so a second run does nothing; `engine:bin` prints the directory holding every binary, last line.
//
// Go modules whose go.mod carries replace directives cannot be `go install`ed (cmd/go refuses
// them), so each module here is a small consumer module that requires the tool (`tool` directive)
// and repeats only the replaces that matter.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..");
export const MODULES = path.join(ROOT, "test", "engine", "modules");

export interface ToolSpec {
    /** Output file name, e.g. "pulumi" or "pulumi-resource-kubernetes". */
    binary: string;
    /** Go package (a main package) to build. */
    package: string;
    /** Version the tool reports; with `npm`, must equal that package's version in package-lock.json. */
    version?: string;
    /** npm package whose locked version this tool must match (CLI <-> @pulumi/pulumi, plugin <-> SDK). */
    npm?: string;
    /** `-X importpath.name=value` link flags. */
    x?: Record<string, string>;
    /** Extra link flags (e.g. "-s", "-w"). */
    ldflags?: string[];
    tags?: string[];
    /** Extra environment for `go build` (e.g. CGO_ENABLED=0). */
    env?: Record<string, string>;
    /**
     * For a main package that embeds files missing from its module zip: copy the package's .go files
     * from the module cache into a generated main in the build cache and write each embed there.
     */
    generate?: {
        /** Module path that holds `package` (its directory in the module cache is the source). */
        module: string;
        /** Files to produce next to the copied main: JSON re-serialized, optionally with "version" set. */
        embed: { from: string; to: string; setVersion?: boolean }[];
    };
    /** Registered by the tests with `pulumi plugin install <kind> <name> <version> --file`. */
    plugin?: { kind: "resource" | "language" | "analyzer"; name: string };
}

export interface Tool {
    dir: string;
    name: string;
    spec: ToolSpec;
    key: string;
}

/** A failure that deserves one line, not a stack trace. */
export class EngineBuildError extends Error {}

export function cacheRoot(): string {
    const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    return path.join(base, "dualstack-engine");
}

function goVersion(): string {
    const r = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8" });
    if (r.error || r.status !== 0) {
        throw new EngineBuildError("engine:build: Go is not installed or not on PATH (the tools are built from Go modules); install Go >= 1.25 and retry");
    }
    return r.stdout.trim();
}

function lockedVersion(pkg: string): string | undefined {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
    return lock.packages?.[`node_modules/${pkg}`]?.version;
}

export function loadTools(goVer = goVersion()): Tool[] {
    if (!fs.existsSync(MODULES)) return [];
    const tools: Tool[] = [];
    for (const name of fs.readdirSync(MODULES).sort()) {
        const dir = path.join(MODULES, name);
        const specFile = path.join(dir, "tool.json");
        if (!fs.existsSync(specFile)) continue;
        for (const f of ["go.mod", "go.sum"]) {
            if (!fs.existsSync(path.join(dir, f))) throw new EngineBuildError(`engine:build: ${name}: ${f} is missing in ${path.relative(ROOT, dir)}; run \`go get -tool <package>@<version>\` there`);
        }
        const spec = JSON.parse(fs.readFileSync(specFile, "utf8")) as ToolSpec;
        if (spec.npm) {
            const locked = lockedVersion(spec.npm);
            if (locked !== spec.version) {
                throw new EngineBuildError(
                    `engine:build: ${name}: tool.json builds version ${spec.version} but package-lock.json has ${spec.npm} ${locked ?? "(absent)"}; pin both sides to one version`,
                );
            }
        }
        const h = createHash("sha256");
        h.update(goVer);
        for (const f of ["go.mod", "go.sum", "tool.json"]) h.update(`\0${f}\0`).update(fs.readFileSync(path.join(dir, f)));
        tools.push({ dir, name, spec, key: h.digest("hex").slice(0, 16) });
    }
    return tools;
}

export function binDirFor(tools: Tool[]): string {
    const h = createHash("sha256");
    for (const t of tools) h.update(`${t.name}=${t.key}\n`);
    return path.join(cacheRoot(), h.digest("hex").slice(0, 16), "bin");
}

function toolOut(t: Tool): string {
    return path.join(cacheRoot(), "tools", `${t.name}-${t.key}`);
}

function fmt(ms: number): string {
    return `${(ms / 1000).toFixed(1)}s`;
}

function goRun(args: string[], cwd: string, env: NodeJS.ProcessEnv, logFile: string): Promise<number> {
    return new Promise((resolve) => {
        const log = fs.openSync(logFile, "a");
        fs.writeSync(log, `$ go ${args.join(" ")}   (in ${cwd})\n`);
        const child = spawn("go", args, { cwd, env, stdio: ["ignore", log, log] });
        child.on("exit", (code) => {
            fs.closeSync(log);
            resolve(code ?? 1);
        });
    });
}

/** One line naming what went wrong, from go's own output. */
function diagnose(t: Tool, logFile: string, code: number): string {
    const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "";
    const refused = /([\w./-]+@v[\w.+-]+)[^\n]*(?:This module version is not available|403 Forbidden|410 Gone)/.exec(text);
    if (refused) return `engine:build: ${t.name}: the Go module proxy refuses ${refused[1]}; pin a version it serves in ${path.relative(ROOT, t.dir)}/go.mod (see README "Engine")`;
    if (/dial tcp|no such host|GOPROXY=off|module lookup disabled/.test(text)) {
        return `engine:build: ${t.name}: a module is missing from the Go module cache and the proxy cannot be reached; run once online (see README "Engine"), log: ${logFile}`;
    }
    const first = text.split("\n").find((l) => /error|cannot|missing|undefined/.test(l)) ?? `exit ${code}`;
    return `engine:build: ${t.name}: go build failed: ${first.trim()} (full log: ${logFile})`;
}

function copyPackage(srcDir: string, dstDir: string): void {
    fs.mkdirSync(dstDir, { recursive: true });
    for (const e of fs.readdirSync(srcDir, { withFileTypes: true })) {
        if (e.isFile() && e.name.endsWith(".go") && !e.name.endsWith("_test.go")) {
            const text = fs.readFileSync(path.join(srcDir, e.name), "utf8");
            // generate.go-style helpers are `//go:build ignore`; leave them out of the build.
            if (/^\/\/go:build ignore/m.test(text)) continue;
            fs.writeFileSync(path.join(dstDir, e.name), text, { mode: 0o644 });
        }
    }
}

function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/**
 * One builder per tool at a time across processes (other worktrees and test runs share the cache):
 * the lock file holds the builder's pid; a lock whose process is gone is taken over.
 */
async function withToolLock<T>(out: string, t: Tool, progress: (s: string) => void, f: () => Promise<T>): Promise<T> {
    const lock = `${out}.lock`;
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    let waited = false;
    for (;;) {
        try {
            fs.writeFileSync(lock, String(process.pid), { flag: "wx" });
            break;
        } catch {
            const holder = Number(fs.readFileSync(lock, "utf8") || "0");
            if (!holder || !pidAlive(holder)) {
                fs.rmSync(lock, { force: true });
                continue;
            }
            if (!waited) progress(`${t.name}: another build (pid ${holder}) is building it; waiting`);
            waited = true;
            await new Promise((r) => setTimeout(r, 2000));
        }
    }
    try {
        return await f();
    } finally {
        fs.rmSync(lock, { force: true });
    }
}

async function buildTool(t: Tool, progress: (s: string) => void): Promise<string> {
    const out = toolOut(t);
    const bin = path.join(out, t.spec.binary);
    if (fs.existsSync(path.join(out, "ok")) && fs.existsSync(bin)) return bin;
    return withToolLock(out, t, progress, () => buildToolLocked(t, out, bin, progress));
}

async function buildToolLocked(t: Tool, out: string, bin: string, progress: (s: string) => void): Promise<string> {
    // Built meanwhile by the process whose lock we waited for.
    if (fs.existsSync(path.join(out, "ok")) && fs.existsSync(bin)) return bin;
    fs.mkdirSync(out, { recursive: true });
    const logFile = path.join(out, "build.log");
    fs.writeFileSync(logFile, "");
    const started = Date.now();
    const tick = setInterval(() => progress(`${t.name}: building ${t.spec.package} ... ${fmt(Date.now() - started)}`), 30000);
    progress(`${t.name}: building ${t.spec.package}${t.spec.version ? ` ${t.spec.version}` : ""}`);
    try {
        const env: NodeJS.ProcessEnv = { ...process.env, ...(t.spec.env ?? {}), GOFLAGS: "-mod=readonly" };
        let cwd = t.dir;
        let target = t.spec.package;
        if (t.spec.generate) {
            // A generated main in the cache: the consumer module's pins plus the package's own files.
            const work = path.join(out, "src");
            fs.rmSync(work, { recursive: true, force: true });
            fs.mkdirSync(work, { recursive: true });
            for (const f of ["go.mod", "go.sum"]) fs.copyFileSync(path.join(t.dir, f), path.join(work, f));
            const dl = spawnSync("go", ["mod", "download", "-json", t.spec.generate.module], { cwd: work, env, encoding: "utf8" });
            fs.appendFileSync(logFile, dl.stdout + dl.stderr);
            if (dl.status !== 0) throw new EngineBuildError(diagnose(t, logFile, dl.status ?? 1));
            const modDir = JSON.parse(dl.stdout).Dir as string;
            const rel = t.spec.package.slice(t.spec.generate.module.length + 1);
            const main = path.join(work, "main");
            copyPackage(path.join(modDir, rel), main);
            for (const e of t.spec.generate.embed) {
                const doc = JSON.parse(fs.readFileSync(path.join(modDir, rel, e.from), "utf8"));
                if (e.setVersion) doc.version = t.spec.version;
                fs.writeFileSync(path.join(main, e.to), JSON.stringify(doc));
            }
            cwd = work;
            target = "./main";
        }
        const ldflags = [...(t.spec.ldflags ?? []), ...Object.entries(t.spec.x ?? {}).map(([k, v]) => `-X ${k}=${v}`)].join(" ");
        const args = ["build", "-trimpath", "-o", `${bin}.tmp`];
        if (t.spec.tags?.length) args.push("-tags", t.spec.tags.join(","));
        if (ldflags) args.push("-ldflags", ldflags);
        args.push(target);
        const code = await goRun(args, cwd, env, logFile);
        if (code !== 0) throw new EngineBuildError(diagnose(t, logFile, code));
        fs.renameSync(`${bin}.tmp`, bin);
        fs.rmSync(path.join(out, "src"), { recursive: true, force: true });
        fs.writeFileSync(path.join(out, "ok"), `${new Date().toISOString()} ${fmt(Date.now() - started)}\n`);
        progress(`${t.name}: built in ${fmt(Date.now() - started)}`);
        return bin;
    } finally {
        clearInterval(tick);
    }
}

/**
 * The bin directory when every tool is already built, without building anything: for tests that
 * use a tool when it is there (kubeadm's config validation) and must not start a cold Go build.
 */
export function cachedBinDir(): string | undefined {
    const tools = loadTools();
    if (tools.length === 0) return undefined;
    const binDir = binDirFor(tools);
    return fs.existsSync(path.join(binDir, ".complete")) ? binDir : undefined;
}

/** Builds what is missing and returns the bin directory holding every tool. */
export async function engineBuild(progress: (s: string) => void = (s) => process.stderr.write(`[engine] ${s}\n`)): Promise<string> {
    const started = Date.now();
    const tools = loadTools();
    if (tools.length === 0) throw new EngineBuildError(`engine:build: no tool modules under ${path.relative(ROOT, MODULES)}`);
    const binDir = binDirFor(tools);
    if (fs.existsSync(path.join(binDir, ".complete"))) {
        progress(`all ${tools.length} tools cached (${tools.map((t) => t.name).join(", ")}) in ${fmt(Date.now() - started)}`);
        return binDir;
    }
    const built: { t: Tool; bin: string }[] = [];
    for (const t of tools) {
        const cached = fs.existsSync(path.join(toolOut(t), "ok"));
        const bin = await buildTool(t, progress);
        if (cached) progress(`${t.name}: cached`);
        built.push({ t, bin });
    }
    // One directory with every binary (hard links: same file system, no copies).
    const tmp = `${binDir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    for (const { t, bin } of built) {
        try {
            fs.linkSync(bin, path.join(tmp, t.spec.binary));
        } catch {
            fs.copyFileSync(bin, path.join(tmp, t.spec.binary));
        }
    }
    const manifest = built.map(({ t }) => ({ name: t.name, binary: t.spec.binary, version: t.spec.version, plugin: t.spec.plugin }));
    fs.writeFileSync(path.join(tmp, "tools.json"), JSON.stringify(manifest, null, 2) + "\n");
    fs.writeFileSync(path.join(tmp, ".complete"), "");
    fs.mkdirSync(path.dirname(binDir), { recursive: true });
    try {
        fs.renameSync(tmp, binDir);
    } catch (e) {
        // Another process assembled the same directory meanwhile: the same pinned binaries.
        fs.rmSync(tmp, { recursive: true, force: true });
        if (!fs.existsSync(path.join(binDir, ".complete"))) throw e;
    }
    progress(`all ${tools.length} tools ready in ${fmt(Date.now() - started)}: ${binDir}`);
    return binDir;
}

if (require.main === module) {
    const printBin = process.argv.includes("--print-bin");
    if (process.argv.includes("--cached-only")) {
        const dir = cachedBinDir();
        if (!dir) {
            process.stderr.write("engine tools not built yet: run npm run engine:build\n");
            process.exit(1);
        }
        process.stdout.write(`${dir}\n`);
        process.exit(0);
    }
    engineBuild().then(
        (dir) => {
            if (printBin) process.stdout.write(`${dir}\n`);
        },
        (e) => {
            process.stderr.write(`${e instanceof EngineBuildError ? e.message : (e as Error).stack ?? String(e)}\n`);
            process.exit(1);
        },
    );
}
