// The collector's document (scripts.ts prints it): Kubernetes core/v1 Node, Pod, Service, Event and
// Calico's crd.projectcalico.org/v1 IPPool as `kubectl get -o json` gives them, read defensively (a
// field may be missing on a broken cluster), plus the probes' results.
import type { BgpEvidence } from "./bgp";
import { lastLines } from "./evidence";

export interface Meta {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
}
export interface Condition {
    type?: string;
    status?: string;
    reason?: string;
    message?: string;
}
export interface K8sNode {
    metadata?: Meta;
    spec?: { podCIDR?: string; podCIDRs?: string[] };
    status?: { addresses?: { type?: string; address?: string }[]; conditions?: Condition[] };
}
export interface ContainerStatus {
    name?: string;
    ready?: boolean;
    restartCount?: number;
    state?: {
        waiting?: { reason?: string; message?: string };
        running?: object;
        terminated?: { reason?: string; exitCode?: number; message?: string };
    };
}
export interface K8sPod {
    metadata?: Meta;
    spec?: { nodeName?: string };
    status?: { phase?: string; conditions?: Condition[]; podIPs?: { ip?: string }[]; containerStatuses?: ContainerStatus[] };
}
export interface K8sService {
    metadata?: Meta;
    spec?: {
        type?: string;
        clusterIPs?: string[];
        ipFamilies?: string[];
        ipFamilyPolicy?: string;
        externalIPs?: string[];
        ports?: { name?: string; port?: number }[];
    };
    status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}
export interface IPPool {
    metadata?: Meta;
    spec?: { cidr?: string; natOutgoing?: boolean; disabled?: boolean; ipipMode?: string; vxlanMode?: string; blockSize?: number };
}
export interface K8sEvent {
    involvedObject?: { kind?: string; name?: string };
    type?: string;
    reason?: string;
    message?: string;
}
export interface List<T> {
    items?: T[];
}
/** One `kubectl get ... -o json`: its output, or the error kubectl printed. */
export interface Captured<T> {
    json?: T;
    error?: string;
}
export interface ProbeResult {
    rc: number;
    tries: number;
    output: string;
}

export interface CollectorDocument {
    schema: string;
    startedAt?: string;
    finishedAt?: string;
    nodes?: Captured<List<K8sNode>>;
    calicoPods?: Captured<List<K8sPod>>;
    ipPools?: Captured<List<IPPool>>;
    probePods?: Captured<List<K8sPod>>;
    probeService?: Captured<K8sService>;
    probeEvents?: Captured<List<K8sEvent>>;
    traefikServices?: Captured<List<K8sService>>;
    bgpStatus?: BgpEvidence;
    waits?: { what: string; ok: boolean; seconds: number }[];
    applyErrors?: { what: string; error: string }[];
    probes?: {
        podToPod?: { from: string; to: string; target: string | null; result?: ProbeResult }[];
        service?: { target: string; result: ProbeResult }[];
        dns?: { name: string; result: ProbeResult } | null;
        egress?: { target: string; result: ProbeResult } | null;
    };
}

export const DOCUMENT_SCHEMA = "dualstack-check/1";

/** Parses the collector's stdout; a document that is not one is reported with stderr's tail. */
export function parseCollectorOutput(stdout: string, stderr: string): { doc?: CollectorDocument; error?: string } {
    const tail = lastLines(stderr, 5);
    let parsed: unknown;
    try {
        parsed = JSON.parse(stdout);
    } catch (e) {
        const what = stdout.trim() === "" ? "printed nothing" : `printed something that is not JSON (${(e as Error).message})`;
        return { error: `the collector ${what}${tail ? `; its last messages: ${tail}` : ""}` };
    }
    if (parsed === null || typeof parsed !== "object" || (parsed as CollectorDocument).schema !== DOCUMENT_SCHEMA) {
        return { error: `the collector's document is not a ${DOCUMENT_SCHEMA} document` };
    }
    return { doc: parsed as CollectorDocument };
}
