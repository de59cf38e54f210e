// Packs the stand-in charts (test/fixtures/charts/standins) into `.tgz` files laid out as
// `helm package` lays them out: every file under `<chart name>/`. Deterministic (sorted entries,
// mtime 0), so the same fixture always gives the same bytes.
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { tempDir } from "./tmp";

export const STANDINS = path.join(__dirname, "..", "fixtures", "charts", "standins");

function header(name: string, size: number, type: "0" | "5"): Buffer {
    const h = Buffer.alloc(512);
    if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long for the stand-in packer: ${name}`);
    h.write(name, 0, "utf8");
    h.write(type === "5" ? "0000755\0" : "0000644\0", 100);
    h.write("0000000\0", 108);
    h.write("0000000\0", 116);
    h.write(size.toString(8).padStart(11, "0") + "\0", 124);
    h.write("00000000000\0", 136);
    h.write("        ", 148);
    h.write(type, 156);
    h.write("ustar\0" + "00", 257);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    return h;
}

/** A ustar archive of `files` (archive path -> content), gzipped. */
export function tgz(files: Record<string, string | Buffer>): Buffer {
    const parts: Buffer[] = [];
    for (const name of Object.keys(files).sort()) {
        const data = Buffer.from(files[name]);
        parts.push(header(name, data.length, "0"), data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
    parts.push(Buffer.alloc(1024));
    return gzipSync(Buffer.concat(parts));
}

function walk(dir: string, rel = ""): string[] {
    return fs
        .readdirSync(path.join(dir, rel), { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? walk(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]));
}

/** The stand-in chart `name` as a packaged chart. */
export function packStandin(name: string, dir = path.join(STANDINS, name)): Buffer {
    const files: Record<string, Buffer> = {};
    for (const f of walk(dir)) files[`${name}/${f.split(path.sep).join("/")}`] = fs.readFileSync(path.join(dir, f));
    return tgz(files);
}

/** Writes every stand-in chart as `<dir>/<name>-<version>.tgz` (a fresh temp dir by default); returns name -> file. */
export function writeStandins(dir = tempDir("dualstack-charts")): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of fs.readdirSync(STANDINS).filter((n) => fs.existsSync(path.join(STANDINS, n, "Chart.yaml")))) {
        const version = /^version:\s*(\S+)/m.exec(fs.readFileSync(path.join(STANDINS, name, "Chart.yaml"), "utf8"))?.[1];
        const file = path.join(dir, `${name}-${version}.tgz`);
        fs.writeFileSync(file, packStandin(name));
        out[name] = file;
    }
    return out;
}
