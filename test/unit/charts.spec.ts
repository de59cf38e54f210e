// Offline chart sources (`dualstack:charts`): where each release's chart comes from, and the
// checks on a packaged chart before any host is touched. The archives are the stand-in charts of
// test/fixtures/charts/standins, packed by test/support/charts.ts, and archives written by GNU tar.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { operatorReleaseArgs } from "../../components/calico/values";
import { chartLocation, chartSourceProblems, pinnedChartVersions, readPackagedChart } from "../../components/charts";
import { releaseArgs } from "../../components/helm";
import { LAYOUT } from "../../components/traefik/chart-layout-41.3.0";
import { TRAEFIK } from "../../components/traefik/values";
import { baseConfig, planOf, rawConfig } from "../support/configs";
import { packStandin, STANDINS, tgz, writeStandins } from "../support/charts";
import { loadPlan } from "../../components/plan";
import { ConfigError } from "../../components/problems";
import { tempDir } from "../support/tmp";

const PINNED = { "tigera-operator": "v3.32.1", traefik: "41.3.0", metallb: "0.16.1" };
const read = (f: string) => fs.readFileSync(f);

describe("offline chart sources", () => {
    let files: Record<string, string>;
    before(() => {
        files = writeStandins();
    });

    it("reads name and version from each packaged stand-in, matching the stack's pins", () => {
        const plan = planOf(baseConfig());
        assert.deepEqual(pinnedChartVersions(plan), PINNED);
        for (const [name, version] of Object.entries(PINNED)) {
            const meta = readPackagedChart(fs.readFileSync(files[name]));
            assert.deepEqual([meta.name, meta.version, meta.path], [name, version, `${name}/Chart.yaml`]);
        }
    });

    for (const format of ["gnu", "pax", "ustar"]) {
        it(`reads Chart.yaml from an archive written by GNU tar (--format=${format}), deep paths included`, function () {
            const dir = tempDir("charts-tar");
            const chart = path.join(dir, "traefik");
            fs.cpSync(path.join(STANDINS, "traefik"), chart, { recursive: true });
            // A path longer than 100 bytes needs a GNU long name or a PAX record.
            const deep = path.join(chart, "templates", "x".repeat(60), "y".repeat(60));
            fs.mkdirSync(deep, { recursive: true });
            fs.writeFileSync(path.join(deep, "Chart.yaml"), "name: decoy\nversion: 0.0.0\n");
            const out = path.join(dir, "traefik.tgz");
            try {
                execFileSync("tar", [`--format=${format}`, "-czf", out, "-C", dir, "traefik"]);
            } catch {
                this.skip();
            }
            assert.deepEqual(readPackagedChart(fs.readFileSync(out)), { name: "traefik", version: "41.3.0", path: "traefik/Chart.yaml" });
        });
    }

    it("accepts the matching archives and mirrors", () => {
        const sources = {
            "tigera-operator": { file: files["tigera-operator"] },
            traefik: { repo: "https://charts.example.internal/traefik" },
            metallb: { repo: "oci://registry.example.internal/charts" },
        };
        assert.deepEqual(chartSourceProblems(sources, PINNED, read), []);
    });

    it("names key, value, rule and fix for every wrong source at once", () => {
        const dir = tempDir("charts-bad");
        const notGzip = path.join(dir, "traefik.tgz");
        fs.writeFileSync(notGzip, "<html>proxy login</html>");
        const problems = chartSourceProblems(
            {
                "tigera-operator": { file: path.join(dir, "missing.tgz") },
                traefik: { file: notGzip },
                metallb: { file: files.metallb, repo: "https://x" },
            },
            PINNED,
            read,
        );
        assert.deepEqual(
            problems.map((p) => [p.key, p.rule]),
            [
                ["dualstack:charts.tigera-operator.file", "cannot be read (ENOENT)"],
                ["dualstack:charts.traefik.file", "is not a gzip file"],
                ["dualstack:charts.metallb", "needs exactly one of file or repo"],
            ],
        );
        assert.match(problems[0].fix, /helm pull tigera-operator --version v3\.32\.1/);
        assert.equal(problems[0].value, path.join(dir, "missing.tgz"));
    });

    it("refuses an archive of another chart, of another version, without Chart.yaml, and a mirror that is no URL", () => {
        const dir = tempDir("charts-wrong");
        const older = path.join(dir, "traefik-40.0.0.tgz");
        fs.writeFileSync(older, tgz({ "traefik/Chart.yaml": "apiVersion: v2\nname: traefik\nversion: 40.0.0\n" }));
        const empty = path.join(dir, "empty.tgz");
        fs.writeFileSync(empty, tgz({ "README.md": "no chart" }));
        const problems = chartSourceProblems(
            { "tigera-operator": { file: files.traefik }, traefik: { file: older }, metallb: { file: empty } },
            PINNED,
            read,
        );
        assert.deepEqual(
            problems.map((p) => p.rule),
            [
                'holds chart "traefik" (traefik/Chart.yaml), not tigera-operator',
                'holds traefik "40.0.0", but dualstack:traefik.chartVersion pins 41.3.0',
                "has no <chart>/Chart.yaml: not a packaged Helm chart",
            ],
        );
        const calicoPin = chartSourceProblems({ "tigera-operator": { file: files["tigera-operator"] } }, { ...PINNED, "tigera-operator": "v3.31.0" }, read);
        assert.match(calicoPin[0].rule, /dualstack:calico\.version pins v3\.31\.0/);
        const url = chartSourceProblems({ traefik: { repo: "charts.example.internal" } }, PINNED, read);
        assert.deepEqual(url.map((p) => [p.key, p.rule]), [["dualstack:charts.traefik.repo", "is not an http://, https:// or oci:// URL"]]);
    });

    it("points the release at the file, the HTTP mirror's index or the OCI reference", () => {
        assert.deepEqual(chartLocation("traefik", TRAEFIK.repo, undefined), { chart: "traefik", repositoryOpts: { repo: TRAEFIK.repo } });
        assert.deepEqual(chartLocation("traefik", TRAEFIK.repo, { file: "charts/traefik-41.3.0.tgz" }), { chart: "charts/traefik-41.3.0.tgz" });
        assert.deepEqual(chartLocation("traefik", TRAEFIK.repo, { repo: "https://m.internal/charts" }), { chart: "traefik", repositoryOpts: { repo: "https://m.internal/charts" } });
        assert.deepEqual(chartLocation("traefik", TRAEFIK.repo, { repo: "oci://r.internal/charts/" }), { chart: "oci://r.internal/charts/traefik" });
        const args = releaseArgs(TRAEFIK, "41.3.0", {}, { traefik: { file: "/srv/charts/traefik-41.3.0.tgz" } });
        assert.equal(args.chart, "/srv/charts/traefik-41.3.0.tgz");
        assert.equal(args.repositoryOpts, undefined);
        assert.equal(args.version, "41.3.0");
    });

    it("takes dualstack:charts from the stack config into every release, and refuses unknown charts by key", () => {
        const plan = planOf(baseConfig({ charts: { "tigera-operator": { repo: "oci://r.internal/calico" } } }));
        assert.deepEqual([operatorReleaseArgs(plan).chart, operatorReleaseArgs(plan).repositoryOpts], ["oci://r.internal/calico/tigera-operator", undefined]);
        const upstream = operatorReleaseArgs(planOf(baseConfig()));
        assert.deepEqual([upstream.chart, upstream.repositoryOpts?.repo], ["tigera-operator", "https://docs.tigera.io/calico/charts"]);
        assert.throws(
            () => loadPlan((k) => rawConfig(baseConfig({ charts: { nginx: { file: "x.tgz" } } }))[k], "t"),
            (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.key === "dualstack:charts.nginx" && /tigera-operator, traefik, metallb/.test(p.fix)),
        );
    });

    it("the traefik stand-in reads only values keys the real chart 41.3.0 declares", () => {
        const template = fs.readFileSync(path.join(STANDINS, "traefik", "templates", "service.yaml"), "utf8");
        const used = [...template.matchAll(/\.Values\.([A-Za-z.]+)/g)].map((m) => m[1]);
        assert.deepEqual([...new Set(used)].sort(), ["ports", "service.spec"]);
        assert.equal(LAYOUT.service.properties.spec, "object");
        for (const k of ["expose", "exposedPort", "protocol"]) assert.ok(k in LAYOUT["ports.*"].properties, k);
        assert.ok("default" in LAYOUT["ports.*.expose"].properties);
        // The stand-in is packed deterministically: same fixture, same bytes.
        assert.deepEqual(packStandin("traefik"), packStandin("traefik"));
    });
});
