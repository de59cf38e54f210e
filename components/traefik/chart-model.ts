// A small model of what the pinned Traefik chart does with our values, to prove (without Helm or a
// cluster) that the Service it renders is dual-stack. Two sources, kept apart:
//  - chart-layout-41.3.0.ts, derived mechanically from the chart's values.schema.json;
//  - the template facts below, read from the chart's templates (they are not in the schema).
// Pure: no Pulumi, no I/O.
import { LAYOUT } from "./chart-layout-41.3.0";
import { LayoutObjects, PRUNED } from "./derive-chart-layout";

/**
 * Template facts of chart >= 40.0.0 (traefik/traefik-helm-chart PR #1686, commit b9f3ed34
 * "fix(service)!: align syntax with upstream", first tag v40.0.0; domain-facts F.1):
 * `service.spec` is copied verbatim into the Service's `.spec` (`{{- with .service.spec }}{{- toYaml . }}`),
 * it "cannot contain selector or ports entries" (the template writes those itself), and these
 * former top-level `service` keys were removed. The schema leaves `service` open, so the removed
 * keys still validate and are silently ignored: the Service falls back to single-stack.
 */
export const SERVICE_SPEC_PATH = "service.spec";
export const SPEC_KEYS_THE_CHART_WRITES = ["ports", "selector"] as const;
export const SERVICE_KEYS_REMOVED_IN_40 = ["externalIPs", "ipFamilies", "ipFamilyPolicy", "loadBalancerClass", "loadBalancerSourceRanges", "type"] as const;

/** Field names of core/v1 ServiceSpec (Kubernetes API reference, v1.33). */
export const SERVICE_SPEC_FIELDS = [
    "allocateLoadBalancerNodePorts",
    "clusterIP",
    "clusterIPs",
    "externalIPs",
    "externalName",
    "externalTrafficPolicy",
    "healthCheckNodePort",
    "internalTrafficPolicy",
    "ipFamilies",
    "ipFamilyPolicy",
    "loadBalancerClass",
    "loadBalancerIP",
    "loadBalancerSourceRanges",
    "ports",
    "publishNotReadyAddresses",
    "selector",
    "sessionAffinity",
    "sessionAffinityConfig",
    "trafficDistribution",
    "type",
] as const;

export interface LayoutProblem {
    path: string;
    problem: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

function jsonType(v: unknown): string {
    if (v === null) return "null";
    if (Array.isArray(v)) return "array";
    if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
    return typeof v;
}

function typeAllowed(declared: string, v: unknown): boolean {
    if (declared === "any") return true;
    const allowed = declared.split("|");
    const t = jsonType(v);
    return allowed.includes(t) || (t === "integer" && allowed.includes("number"));
}

/**
 * Every key of `values` checked against the chart's layout: a key the schema does not declare is
 * either refused by Helm (closed object) or silently ignored (open object) - both are bugs for
 * us. Pass-through objects accept Service fields except the ones the chart writes itself.
 */
export function layoutProblems(values: Record<string, unknown>, layout: LayoutObjects = LAYOUT): LayoutProblem[] {
    const problems: LayoutProblem[] = [];
    // `path` is the schema path (`ports.*...`), `at` the path in our values (`ports.web...`).
    const walk = (value: Record<string, unknown>, path: string, at: string): void => {
        if (PRUNED.some((p) => path === p || path.startsWith(`${p}.`))) {
            problems.push({ path: at, problem: "is in a subtree left out of the derived layout; re-derive it with that subtree" });
            return;
        }
        if (path === SERVICE_SPEC_PATH) {
            for (const k of Object.keys(value)) {
                if ((SPEC_KEYS_THE_CHART_WRITES as readonly string[]).includes(k)) problems.push({ path: `${at}.${k}`, problem: "is written by the chart's template and must not be given" });
                else if (!(SERVICE_SPEC_FIELDS as readonly string[]).includes(k)) problems.push({ path: `${at}.${k}`, problem: "is not a field of a Kubernetes ServiceSpec" });
            }
            return;
        }
        const here = layout[path];
        const star = layout[path ? `${path}.*` : "*"];
        // A declared object without declared structure (annotations, labels, ...): free-form.
        if (!here && !star) return;
        for (const [k, v] of Object.entries(value)) {
            const p = path ? `${path}.${k}` : k;
            const a = at ? `${at}.${k}` : k;
            const declared = here?.properties[k];
            if (declared !== undefined) {
                if (!typeAllowed(declared, v)) problems.push({ path: a, problem: `is ${jsonType(v)} but the schema wants ${declared}` });
                else if (isObject(v)) walk(v, p, a);
            } else if (star) {
                if (!isObject(v)) problems.push({ path: a, problem: `is ${jsonType(v)} but map entries are objects` });
                else walk(v, path ? `${path}.*` : "*", a);
            } else if (here!.closed) {
                problems.push({ path: a, problem: "is not declared and the schema refuses undeclared keys here (Helm fails)" });
            } else {
                problems.push({ path: a, problem: "is not declared: it validates but the chart ignores it" });
            }
        }
    };
    walk(values, "", "");
    return problems;
}

export interface RenderedService {
    annotations: Record<string, string>;
    /** `.spec` as the chart's template writes it. */
    spec: Record<string, unknown>;
    /** Keys under `service` the 41.3.0 template does not read (they are silently ignored). */
    ignoredServiceKeys: string[];
}

interface PortValues {
    port?: number;
    exposedPort?: number;
    protocol?: string;
    expose?: { default?: boolean };
}

/**
 * The main Service the chart renders from `values` (chart >= 40 template): `.spec` = `service.spec`
 * verbatim, then `selector` and the ports whose `expose.default` is true (exposedPort, else port).
 * Defaults the chart's own values.yaml would add are not modelled: we only reason about what our
 * values set, and our values set everything the proof depends on.
 */
export function serviceUnderChart(values: Record<string, unknown>, layout: LayoutObjects = LAYOUT): RenderedService {
    const service = isObject(values.service) ? values.service : {};
    const read = new Set(Object.keys(layout.service?.properties ?? {}));
    const spec: Record<string, unknown> = { ...(isObject(service.spec) ? service.spec : {}) };
    const ports = isObject(values.ports) ? (values.ports as Record<string, PortValues>) : {};
    spec.selector = { "app.kubernetes.io/instance": "(release)", "app.kubernetes.io/name": "traefik" };
    spec.ports = Object.keys(ports)
        .sort()
        .filter((name) => ports[name]?.expose?.default === true)
        .map((name) => ({ name, port: ports[name].exposedPort ?? ports[name].port, targetPort: name, protocol: ports[name].protocol ?? "TCP" }));
    return {
        annotations: isObject(service.annotations) ? (service.annotations as Record<string, string>) : {},
        spec,
        ignoredServiceKeys: Object.keys(service).filter((k) => !read.has(k)).sort(),
    };
}

/**
 * The pod annotations the chart adds for Prometheus (traefik/templates/_podtemplate.tpl): when
 * `metrics.prometheus` is set and `metrics.prometheus.serviceMonitor.enabled` is not true, the pod
 * template gets `prometheus.io/scrape: "true"`, `prometheus.io/path: "/metrics"` and
 * `prometheus.io/port: <ports[metrics.prometheus.entryPoint].port>`. Chart 41.3.0's schema has no
 * switch for them (no `metrics.prometheus.scrape`), and `deployment.podAnnotations` is rendered
 * into the same map, so giving them there too would duplicate the keys.
 */
export function scrapeAnnotationsUnderChart(values: Record<string, unknown>): Record<string, string> | undefined {
    const metrics = isObject(values.metrics) ? values.metrics : undefined;
    const prom = metrics && isObject(metrics.prometheus) ? metrics.prometheus : undefined;
    if (!prom || Object.keys(prom).length === 0) return undefined;
    const sm = isObject(prom.serviceMonitor) ? prom.serviceMonitor : {};
    if (sm.enabled === true) return undefined;
    const ports = isObject(values.ports) ? (values.ports as Record<string, PortValues>) : {};
    const entry = typeof prom.entryPoint === "string" ? ports[prom.entryPoint] : undefined;
    if (entry?.port === undefined) return undefined;
    return { "prometheus.io/path": "/metrics", "prometheus.io/port": String(entry.port), "prometheus.io/scrape": "true" };
}
