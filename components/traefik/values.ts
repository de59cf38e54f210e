// Traefik's Helm values and what the Service should look like, as pure functions of the plan.
// The component registers exactly these values; `npm run render` writes them as YAML.
//
// Chart layout: from chart 40.0.0 on, every Service setting lives under `service.spec`, which the
// chart copies verbatim into the Service (traefik-helm-chart PR #1686, commit b9f3ed34). The old
// top-level keys (`service.type`, `service.ipFamilyPolicy`, `service.ipFamilies`,
// `service.externalIPs`) still pass the chart's schema and are silently ignored, which yields an
// IPv4-only Service on a dual-stack cluster (traefik-helm-chart issue #1931). This file never
// writes them; charts below 40 are refused by the plan (plan/rules/exposure.ts) rather than given the old layout.
import { Document } from "yaml";
import { addressAt, canonicalAddress, Family, familyOfAddress } from "../net";
import type { Plan } from "../plan";

export const TRAEFIK = {
    chart: "traefik",
    repo: "https://traefik.github.io/charts",
    namespace: "traefik",
    /** Also the Service's name: the chart's fullname is the release name when it contains "traefik". */
    release: "traefik",
} as const;

/**
 * Host offset of the Traefik Service's cluster IPs inside each service CIDR. Fixing them makes the
 * exported cluster IPs known at preview time (no read of the live Service, which a first preview
 * cannot do) and lets the check compare exact values. Offsets below 16 lie in the static band
 * every service CIDR reserves for fixed addresses (KEP-3070: min(max(16, size/16), 256)), so a
 * dynamically allocated Service cannot take them first; 1 is the `kubernetes` Service and 10 the
 * cluster DNS (plan.clusterDns).
 */
export const CLUSTER_IP_OFFSET = 11n;

/** The entry points the chart declares; container ports are the chart's defaults. */
export const PORTS = {
    web: { port: 8000, exposedPort: 80 },
    websecure: { port: 8443, exposedPort: 443 },
    traefik: { port: 8080, exposedPort: 8080 },
    metrics: { port: 9100, exposedPort: 9100 },
} as const;

export type ServiceType = "LoadBalancer" | "ClusterIP";
export type LoadBalancerChoice = Plan["traefik"]["loadBalancer"];

export const METALLB_IPS_ANNOTATION = "metallb.io/loadBalancerIPs";
/** k3s ServiceLB runs only on nodes with this label when any node has it (k3s docs, networking-services). */
export const SERVICELB_NODE_LABEL = "svccontroller.k3s.cattle.io/enablelb";

export function serviceTypeFor(lb: LoadBalancerChoice): ServiceType {
    return lb === "servicelb" || lb === "metallb" ? "LoadBalancer" : "ClusterIP";
}

/** Canonical addresses, primary family first; order within a family is kept. */
export function inFamilyOrder(plan: Plan, addresses: string[]): string[] {
    const rank = (a: string) => plan.families.indexOf(familyOfAddress(a) as Family);
    return addresses
        .map((a) => canonicalAddress(a))
        .map((a, i) => ({ a, i }))
        .sort((x, y) => rank(x.a) - rank(y.a) || x.i - y.i)
        .map((x) => x.a);
}

/** The Service's cluster IPs, in `ipFamilies` order. */
export function traefikClusterIPs(plan: Plan): string[] {
    return plan.families.map((f) => addressAt(f === "IPv4" ? plan.serviceCidrs.ipv4 : plan.serviceCidrs.ipv6, CLUSTER_IP_OFFSET));
}

export function traefikExternalIPs(plan: Plan): string[] {
    return plan.traefik.loadBalancer === "externalIPs" ? inFamilyOrder(plan, plan.traefik.externalIPs) : [];
}

/** Fixed MetalLB addresses for the Service (empty: MetalLB picks one per family from the pool). */
export function metallbServiceIPs(plan: Plan): string[] {
    return plan.traefik.loadBalancer === "metallb" ? inFamilyOrder(plan, plan.metallb.loadBalancerIPs) : [];
}

export interface PortValues {
    port: number;
    exposedPort: number;
    protocol: "TCP";
    expose: { default: boolean };
}

export interface TraefikServiceSpec {
    type: ServiceType;
    ipFamilyPolicy: "RequireDualStack";
    ipFamilies: Family[];
    /**
     * clusterIPs[0] again: the API server never derives the singular field from the plural one
     * and refuses `clusterIPs` without `clusterIP` ("must be empty when `clusterIP` is not
     * specified": kubernetes pkg/apis/core/validation/validation.go ValidateService, and
     * pkg/registry/core/service/storage/storage.go normalizeClusterIPs: "we don't init singular
     * based on plural because new clients must use both fields"). Found by the control-plane lab.
     */
    clusterIP: string;
    clusterIPs: string[];
    externalIPs?: string[];
}

export interface TraefikValues {
    service: { annotations?: Record<string, string>; spec: TraefikServiceSpec };
    ports: Record<keyof typeof PORTS, PortValues>;
    api: { dashboard: boolean };
    ingressRoute: { dashboard: { enabled: boolean } };
    metrics: {
        prometheus: {
            entryPoint: "metrics";
            addEntryPointsLabels: boolean;
            addServicesLabels: boolean;
            serviceMonitor: { enabled: false };
        };
    };
}

function port(name: keyof typeof PORTS, exposed: boolean): PortValues {
    return { ...PORTS[name], protocol: "TCP", expose: { default: exposed } };
}

/** The Helm values for the pinned chart (>= 40 layout). Plain data. */
export function traefikValues(plan: Plan): TraefikValues {
    const lb = plan.traefik.loadBalancer;
    const spec: TraefikServiceSpec = {
        type: serviceTypeFor(lb),
        ipFamilyPolicy: "RequireDualStack",
        ipFamilies: [...plan.families],
        clusterIP: traefikClusterIPs(plan)[0],
        clusterIPs: traefikClusterIPs(plan),
    };
    if (lb === "externalIPs") spec.externalIPs = traefikExternalIPs(plan);
    const fixed = metallbServiceIPs(plan);
    // A dual-stack Service cannot use spec.loadBalancerIP; MetalLB reads both addresses from this
    // annotation (metallb docs, usage: "Requesting specific IPs"; domain-facts F.2).
    const annotations = fixed.length > 0 ? { [METALLB_IPS_ANNOTATION]: fixed.join(",") } : undefined;
    const dashboard = plan.traefik.dashboard;
    return {
        service: { ...(annotations ? { annotations } : {}), spec },
        ports: {
            web: port("web", true),
            websecure: port("websecure", true),
            // The `traefik` entry point serves the API and dashboard without authentication: on the
            // Service only when the stack asks for the dashboard.
            traefik: port("traefik", dashboard),
            // Scraped on the pod (annotations below); never on the Service.
            metrics: port("metrics", false),
        },
        api: { dashboard },
        ingressRoute: { dashboard: { enabled: dashboard } },
        // With metrics.prometheus set and no ServiceMonitor, the chart's pod template adds
        // prometheus.io/scrape, /path and /port (= ports.metrics.port) itself
        // (traefik/templates/_podtemplate.tpl); 41.3.0 has no value to turn them off, and giving them
        // in deployment.podAnnotations as well would duplicate the keys.
        metrics: {
            prometheus: { entryPoint: "metrics", addEntryPointsLabels: true, addServicesLabels: true, serviceMonitor: { enabled: false } },
        },
    };
}

/** YAML text of `value` with a header comment; keys sorted (their order means nothing to Helm). */
export function yamlWithHeader(header: string[], value: unknown): string {
    const doc = new Document(value, { sortMapEntries: true });
    doc.commentBefore = header.map((l) => ` ${l}`).join("\n");
    return doc.toString({ lineWidth: 0 });
}

export function traefikValuesYaml(plan: Plan): string {
    return yamlWithHeader(
        [
            `Helm values for chart ${TRAEFIK.chart} ${plan.traefik.chartVersion} (${TRAEFIK.repo}), release ${TRAEFIK.release} in namespace ${TRAEFIK.namespace}.`,
            "Rendered by dualstack from the stack config; the Service settings live under service.spec (chart >= 40).",
        ],
        traefikValues(plan),
    );
}

export interface ExpectedTraefikService {
    namespace: string;
    name: string;
    type: ServiceType;
    ipFamilyPolicy: "RequireDualStack";
    ipFamilies: Family[];
    clusterIPs: string[];
    externalIPs: string[];
    loadBalancer: {
        /**
         * Where `status.loadBalancer.ingress` comes from: node addresses (ServiceLB), the fixed
         * MetalLB addresses, any address of the MetalLB pool per family, or nothing (ClusterIP).
         */
        source: "servicelb-nodes" | "metallb-fixed" | "metallb-pool" | "none";
        /** Expected ingress IPs, in `ipFamilies` order; empty for `metallb-pool` and `none`. */
        addresses: string[];
    };
}

/**
 * ServiceLB publishes, per family in `ipFamilies` order, the addresses of the nodes running its
 * svclb pod (k3s pkg/cloudprovider/servicelb.go `filterByIPFamily`; domain-facts C.8): all nodes,
 * or only the labelled ones when any node carries SERVICELB_NODE_LABEL=true. Node taints the
 * svclb DaemonSet does not tolerate can shrink the set; the check compares the live Service.
 */
export function serviceLbAddresses(plan: Plan): string[] {
    const labelled = plan.nodes.filter((n) => n.labels[SERVICELB_NODE_LABEL] === "true");
    const nodes = labelled.length > 0 ? labelled : plan.nodes;
    return plan.families.flatMap((f) => nodes.map((n) => (f === "IPv4" ? n.ipv4 : n.ipv6)));
}

/** What the live Service must look like once the release is installed (for outputs and the check). */
export function expectedService(plan: Plan): ExpectedTraefikService {
    const lb = plan.traefik.loadBalancer;
    const fixed = metallbServiceIPs(plan);
    const loadBalancer: ExpectedTraefikService["loadBalancer"] =
        lb === "servicelb"
            ? { source: "servicelb-nodes", addresses: serviceLbAddresses(plan) }
            : lb === "metallb"
              ? fixed.length > 0
                  ? { source: "metallb-fixed", addresses: fixed }
                  : { source: "metallb-pool", addresses: [] }
              : { source: "none", addresses: [] };
    return {
        namespace: TRAEFIK.namespace,
        name: TRAEFIK.release,
        type: serviceTypeFor(lb),
        ipFamilyPolicy: "RequireDualStack",
        ipFamilies: [...plan.families],
        clusterIPs: traefikClusterIPs(plan),
        externalIPs: traefikExternalIPs(plan),
        loadBalancer,
    };
}
