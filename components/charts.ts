// Where the three Helm charts come from: the upstream repositories (default), a local packaged
// chart (.tgz, for air-gapped sites: `helm pull` once, copy the files over) or a mirror repository
// (HTTP(S) index or OCI registry). `dualstack:charts` names a source per chart; the archive is
// checked before any host is touched: it exists, and the Chart.yaml inside names the chart and the
// version this stack pins (a mismatch would silently deploy another version than config says).
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { z } from "zod";
import type { Problem } from "./problems";

export const CHART_NAMES = ["tigera-operator", "traefik", "metallb"] as const;
export type ChartName = (typeof CHART_NAMES)[number];

const source = z.strictObject({
    /** A packaged chart (`helm pull` / `helm package` output), relative to the project directory or absolute. */
    file: z.string().min(1).optional(),
    /** A mirror: `https://...` (a Helm repository index) or `oci://registry/path` (the chart is `<repo>/<chart>`). */
    repo: z.string().min(1).optional(),
});
export type ChartSource = z.infer<typeof source>;

export const chartSourcesSchema = z.strictObject({
    "tigera-operator": source.optional(),
    traefik: source.optional(),
    metallb: source.optional(),
});
export type ChartSources = z.infer<typeof chartSourcesSchema>;

/** What helm.v3.Release needs to find a chart: a name with a repository, an OCI reference, or a local path. */
export interface ChartLocation {
    chart: string;
    repositoryOpts?: { repo: string };
}

/** The chart reference for a release: upstream by default, else the configured file or mirror. */
export function chartLocation(chart: ChartName, upstreamRepo: string, src: ChartSource | undefined): ChartLocation {
    if (src?.file) return { chart: src.file };
    const repo = src?.repo ?? upstreamRepo;
    // Helm takes an OCI chart as one reference and has no index to look a name up in.
    if (repo.startsWith("oci://")) return { chart: `${repo.replace(/\/+$/, "")}/${chart}` };
    return { chart, repositoryOpts: { repo } };
}

/** Name and version from the one top-level `<dir>/Chart.yaml` of a packaged chart. */
export function readPackagedChart(tgz: Buffer): { name: unknown; version: unknown; path: string } {
    let tar: Buffer;
    try {
        tar = gunzipSync(tgz);
    } catch {
        throw new Error("is not a gzip file");
    }
    for (const entry of tarEntries(tar)) {
        const parts = entry.name.replace(/^\.\//, "").split("/");
        if (entry.type === "file" && parts.length === 2 && parts[1] === "Chart.yaml") {
            const doc = parse(entry.data.toString("utf8")) as Record<string, unknown> | null;
            return { name: doc?.name, version: doc?.version, path: entry.name };
        }
    }
    throw new Error("has no <chart>/Chart.yaml: not a packaged Helm chart");
}

interface TarEntry {
    name: string;
    type: "file" | "other";
    data: Buffer;
}

/** Enough of POSIX ustar, PAX (`path=`) and GNU long names to list a Helm package (Go's archive/tar). */
export function* tarEntries(tar: Buffer): Generator<TarEntry> {
    let off = 0;
    let longName: string | undefined;
    while (off + 512 <= tar.length) {
        const h = tar.subarray(off, off + 512);
        if (h.every((b) => b === 0)) return;
        const str = (a: number, n: number) => h.subarray(a, a + n).toString("utf8").replace(/\0.*$/s, "");
        const size = parseInt(str(124, 12).trim() || "0", 8);
        if (!Number.isFinite(size) || size < 0) throw new Error("is not a tar archive (bad header)");
        const typeflag = String.fromCharCode(h[156] || 0x30);
        const magic = str(257, 6);
        const prefix = magic.startsWith("ustar") ? str(345, 155) : "";
        const data = tar.subarray(off + 512, off + 512 + size);
        if (data.length < size) throw new Error("is truncated");
        off += 512 + Math.ceil(size / 512) * 512;
        if (typeflag === "x") {
            const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString("utf8"));
            if (m) longName = m[1];
            continue;
        }
        if (typeflag === "L") {
            longName = data.toString("utf8").replace(/\0.*$/s, "");
            continue;
        }
        if (typeflag === "g") continue;
        const name = longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
        longName = undefined;
        yield { name, type: typeflag === "0" || typeflag === "\0" ? "file" : "other", data };
    }
}

/** The version each chart must have: Calico's charts are versioned like Calico itself. */
export function pinnedChartVersions(plan: { calico: { version: string }; traefik: { chartVersion: string }; metallb: { chartVersion: string } }): Record<ChartName, string> {
    return { "tigera-operator": plan.calico.version, traefik: plan.traefik.chartVersion, metallb: plan.metallb.chartVersion };
}

/**
 * Problems with `dualstack:charts`, each naming key, value, rule and fix. `pinned` is the version
 * each chart must have (tigera-operator: calico.version; traefik and metallb: their chartVersion);
 * `read` reads a configured file (relative paths from the project directory).
 */
export function chartSourceProblems(sources: ChartSources, pinned: Record<ChartName, string>, read: (file: string) => Buffer): Problem[] {
    const out: Problem[] = [];
    for (const chart of CHART_NAMES) {
        const src = sources[chart];
        if (!src) continue;
        const key = `dualstack:charts.${chart}`;
        if ((src.file === undefined) === (src.repo === undefined)) {
            out.push({ key, value: src, rule: "needs exactly one of file or repo", fix: `give file: <path to ${chart}-${pinned[chart]}.tgz> or repo: <https:// or oci:// mirror>` });
            continue;
        }
        if (src.repo !== undefined) {
            let scheme = "";
            try {
                scheme = new URL(src.repo).protocol;
            } catch {
                /* reported below */
            }
            if (!["http:", "https:", "oci:"].includes(scheme)) {
                out.push({ key: `${key}.repo`, value: src.repo, rule: "is not an http://, https:// or oci:// URL", fix: "give the mirror's repository URL, e.g. https://charts.example.internal/stable or oci://registry.example.internal/charts" });
            }
            continue;
        }
        const file = src.file as string;
        const fix = `run \`helm pull ${chart} --version ${pinned[chart]}\` against the upstream repository (README: air-gapped sites) and point file at the .tgz it writes`;
        let bytes: Buffer;
        try {
            bytes = read(file);
        } catch (e) {
            out.push({ key: `${key}.file`, value: file, rule: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, fix });
            continue;
        }
        let meta: ReturnType<typeof readPackagedChart>;
        try {
            meta = readPackagedChart(bytes);
        } catch (e) {
            out.push({ key: `${key}.file`, value: file, rule: (e as Error).message, fix });
            continue;
        }
        if (meta.name !== chart) {
            out.push({ key: `${key}.file`, value: file, rule: `holds chart ${JSON.stringify(meta.name)} (${meta.path}), not ${chart}`, fix });
        } else if (String(meta.version) !== pinned[chart]) {
            const pinKey = chart === "tigera-operator" ? "dualstack:calico.version" : `dualstack:${chart}.chartVersion`;
            out.push({
                key: `${key}.file`,
                value: file,
                rule: `holds ${chart} ${JSON.stringify(meta.version)}, but ${pinKey} pins ${pinned[chart]}`,
                fix: `pull ${chart} ${pinned[chart]} (helm pull ${chart} --version ${pinned[chart]}) or change ${pinKey} to the archive's version`,
            });
        }
    }
    return out;
}
