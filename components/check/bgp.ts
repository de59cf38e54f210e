// The BGP check (dualstack:calico.bgp): every node's sessions with the configured peers are
// Established, IPv4 peers over IPv4 and IPv6 peers over IPv6.
//
// Evidence source: Calico's CalicoNodeStatus (crd.projectcalico.org/v1), not BIRD's sockets.
// calico-node fills `status.bgp.peersV4/peersV6` (peerIP, type, state) of a CalicoNodeStatus that
// names its node (tigera/docs version-3.32 reference/resources/caliconodestatus.mdx). The resource
// came with Calico v3.22 (projectcalico/api PR #29, 2021); the pinned v3.32.1 has it on both
// paths: the operator installs its CRD, k0s ships caliconodestatuses.crd.projectcalico.org and
// grants calico-node `update` on it (k0s static/manifests/calico). Reading BIRD instead would mean
// `kubectl exec` into every calico-node pod and parsing `birdcl show protocols` text; the status
// object gives structured JSON for all nodes from the one kubectl the collector already uses.
// Calico's docs ask to create these objects for debugging only, with a modest update period, and
// to delete them afterwards: the collector creates one per node, reads them, and deletes them.
import { stringify } from "yaml";
import { canonicalAddress, Family, familyOfAddress } from "../net";
import type { Plan, PlannedNode } from "../plan";
import type { PlannedPeer } from "../calico/bgp-rules";
import { q } from "../shell";
import type { CheckEntry, Finding, K8sNode } from "./judge";
import { calicoNamespace, kubeNodes } from "./scripts";

export const BGP_TITLE = "Every node's BGP sessions with the configured peers are Established, for both families";
export const STATUS_RESOURCE = "caliconodestatuses.crd.projectcalico.org";
/** A code constant of [a-z=-] only, so it is written into the collector as is. */
export const STATUS_LABEL = "dualstack-check=bgp";
/** Calico docs' own example period; short enough for the check, light on the API server. */
export const STATUS_PERIOD_SECONDS = 10;

export function statusName(node: string): string {
    return `dualstack-bgp-${node}`;
}

export interface CalicoNodeStatus {
    metadata?: { name?: string; labels?: Record<string, string> };
    spec?: { node?: string };
    status?: {
        lastUpdated?: string;
        bgp?: {
            peersV4?: { peerIP?: string; type?: string; state?: string; since?: string }[];
            peersV6?: { peerIP?: string; type?: string; state?: string; since?: string }[];
        };
    };
}

/** What the collector captured: `kubectl get caliconodestatuses -o json`, or kubectl's error. */
export interface BgpEvidence {
    json?: { items?: CalicoNodeStatus[] };
    error?: string;
}

/** One CalicoNodeStatus per node that runs calico-node, asking for the BGP class only. */
export function nodeStatusManifest(plan: Plan): string {
    const items = kubeNodes(plan).map((n) => ({
        apiVersion: "crd.projectcalico.org/v1",
        kind: "CalicoNodeStatus",
        metadata: { name: statusName(n.name), labels: { "dualstack-check": "bgp" } },
        spec: { node: n.name, classes: ["BGP"], updatePeriodSeconds: STATUS_PERIOD_SECONDS },
    }));
    return stringify({ apiVersion: "v1", kind: "List", items }, { sortMapEntries: true });
}

/** Peers every node must have (no nodeSelector): the least number of Established sessions per node. */
function globalPeers(plan: Plan): PlannedPeer[] {
    return (plan.bgp?.peers ?? []).filter((p) => p.nodeSelector === undefined);
}

/**
 * Collector lines (POSIX sh, run inside collectorScript with its library): create the status
 * objects, wait (bounded by the run's deadline) until calico-node reported and no session is down,
 * capture them as `bgpStatus`, delete them. Stale objects of a cut-off run go first.
 */
export function bgpCollectorLines(plan: Plan): string[] {
    if (!plan.bgp || plan.bgp.peers.length === 0) return [];
    const nodes = kubeNodes(plan).map((n) => q(statusName(n.name)));
    if (nodes.length === 0) return [];
    const least = globalPeers(plan).length;
    return [
        "# 2b. BGP sessions with the upstream peers, as calico-node reports them (CalicoNodeStatus).",
        `BGP_STATUS_MANIFEST=${q(nodeStatusManifest(plan))}`,
        "bgp_settled() {",
        `  for s in ${nodes.join(" ")}; do`,
        `    v=$(k get ${STATUS_RESOURCE} "$s" -o jsonpath='{.status.lastUpdated}|{.status.bgp.numberNotEstablishedV4}|{.status.bgp.numberNotEstablishedV6}|{.status.bgp.numberEstablishedV4}|{.status.bgp.numberEstablishedV6}') || return 1`,
        `    printf '%s\\n' "$v" | { IFS='|' read -r last down4 down6 up4 up6; [ -n "$last" ] && [ "\${down4:-0}" -eq 0 ] && [ "\${down6:-0}" -eq 0 ] && [ $(( \${up4:-0} + \${up6:-0} )) -ge ${least} ]; } || return 1`,
        "  done",
        "}",
        `k delete ${STATUS_RESOURCE} -l ${STATUS_LABEL} --ignore-not-found >/dev/null 2>&1 || true`,
        `if apply "CalicoNodeStatus objects" "$BGP_STATUS_MANIFEST"; then`,
        `  wait_for "BGP sessions Established on every node" bgp_settled`,
        "fi",
        `capture bgpStatus ${STATUS_RESOURCE} -l ${STATUS_LABEL}`,
        `k delete ${STATUS_RESOURCE} -l ${STATUS_LABEL} --ignore-not-found >/dev/null 2>&1 || true`,
    ];
}

// ---- Which peers apply to which node -----------------------------------------------------------

/**
 * Calico selector subset: `all()`, `has(k)`, `!has(k)`, `k == 'v'`, `k != 'v'`, `k in {'a','b'}`,
 * `k not in {...}`, joined by `&&`. Anything else gives undefined: the judge then only requires
 * the sessions that calico-node did set up to be Established.
 */
export function selectorMatches(selector: string, labels: Record<string, string>): boolean | undefined {
    const terms = selector.split("&&").map((t) => t.trim());
    let all = true;
    for (const t of terms) {
        let m: RegExpExecArray | null;
        const str = (s: string) => s.replace(/^['"]|['"]$/g, "");
        if (t === "all()") continue;
        if ((m = /^(!?)\s*has\(\s*([\w./-]+)\s*\)$/.exec(t))) {
            if ((m[2] in labels) === (m[1] === "!")) all = false;
        } else if ((m = /^([\w./-]+)\s*(==|!=)\s*('[^']*'|"[^"]*")$/.exec(t))) {
            if ((labels[m[1]] === str(m[3])) !== (m[2] === "==")) all = false;
        } else if ((m = /^([\w./-]+)\s+(not\s+in|in)\s*\{([^}]*)\}$/.exec(t))) {
            const set = m[3].split(",").map((x) => str(x.trim())).filter((x) => x !== "");
            if (set.includes(labels[m[1]] ?? "\u0000") !== (m[2] === "in")) all = false;
        } else {
            return undefined;
        }
    }
    return all;
}

// ---- Judgement ---------------------------------------------------------------------------------

export interface BgpCheckInput {
    plan: Plan;
    evidence?: BgpEvidence;
    /** The live Node objects (for nodeSelector labels). */
    liveNodes: Map<string, K8sNode>;
    /** Set when the API server did not answer. */
    apiDown?: string;
}

function peerLabel(p: PlannedPeer): string {
    return `${p.peerIP} (AS ${p.asNumber})`;
}

export function checkBgp(input: BgpCheckInput): CheckEntry {
    const { plan } = input;
    const base = { id: "bgp" as const, title: BGP_TITLE };
    const evidence: string[] = [];
    const findings: Finding[] = [];
    const skip = (cause: string): CheckEntry => ({ ...base, status: "skipped", evidence, cause });
    const bgp = plan.bgp;
    if (!bgp || bgp.peers.length === 0) return skip("dualstack:calico.bgp lists no peers");
    if (input.apiDown !== undefined) return skip("not run: the API server did not answer (see the nodes check)");
    const ns = calicoNamespace(plan);
    const birdcl = (node: string, fam: Family) =>
        `kubectl -n ${ns} exec $(kubectl -n ${ns} get pod -l k8s-app=calico-node --field-selector spec.nodeName=${node} -o name) -c calico-node -- birdcl -s /var/run/calico/${fam === "IPv4" ? "bird" : "bird6"}.ctl show protocols all`;

    if (!input.evidence?.json) {
        findings.push({
            message: `kubectl could not read ${STATUS_RESOURCE} (${(input.evidence?.error ?? "nothing captured").split("\n")[0]})`,
            cause: "the CalicoNodeStatus CRD is missing (Calico older than v3.22), or the collector could not create the status objects",
            fix: `use calico.version v3.22 or newer; see the applyErrors in the report; meanwhile read the sessions with ${birdcl(plan.firstControlPlane.name, "IPv4")}`,
        });
    } else {
        const byNode = new Map<string, CalicoNodeStatus>();
        for (const s of input.evidence.json.items ?? []) if (s.spec?.node) byNode.set(s.spec.node, s);
        for (const node of kubeNodes(plan)) judgeNode(node, byNode.get(node.name), input, bgp.peers, evidence, findings, birdcl);
    }
    if (findings.length > 0) {
        return {
            ...base,
            status: "failed",
            evidence,
            cause: findings.map((f) => `${f.message}: ${f.cause}`).join("; "),
            fix: [...new Set(findings.map((f) => f.fix))].join(" "),
            findings,
        };
    }
    return { ...base, status: "passed", evidence };
}

function judgeNode(
    node: PlannedNode,
    status: CalicoNodeStatus | undefined,
    input: BgpCheckInput,
    peers: PlannedPeer[],
    evidence: string[],
    findings: Finding[],
    birdcl: (node: string, fam: Family) => string,
): void {
    const { plan } = input;
    if (!status?.status?.lastUpdated) {
        findings.push({
            message: `calico-node on ${node.name} reported no BGP status`,
            cause: "calico-node is not running there or did not fill the CalicoNodeStatus before the deadline",
            fix: `kubectl -n ${calicoNamespace(plan)} logs -l k8s-app=calico-node -c calico-node --tail=50; ${birdcl(node.name, "IPv4")}`,
        });
        evidence.push(`${node.name}: no status from calico-node`);
        return;
    }
    const labels = input.liveNodes.get(node.name)?.metadata?.labels ?? {};
    const sessions = (fam: Family) => (fam === "IPv4" ? status.status?.bgp?.peersV4 : status.status?.bgp?.peersV6) ?? [];
    for (const peer of peers) {
        const own = node[peer.family === "IPv4" ? "ipv4" : "ipv6"];
        const session = sessions(peer.family).find((s) => s.peerIP && familyOfAddress(s.peerIP) && canonicalAddress(s.peerIP) === peer.peerIP);
        const applies = peer.nodeSelector === undefined ? true : selectorMatches(peer.nodeSelector, labels);
        if (applies === false) {
            evidence.push(`${node.name}: ${peerLabel(peer)} not selected by ${peer.nodeSelector}`);
            continue;
        }
        if (!session) {
            if (applies === undefined) {
                evidence.push(`${node.name}: no session with ${peerLabel(peer)}; nodeSelector ${peer.nodeSelector} not evaluated here`);
                continue;
            }
            findings.push({
                message: `${node.name} has no ${peer.family} BGP session with ${peerLabel(peer)}`,
                cause: `the BGPPeer ${peer.name} is missing or calico-node has no ${peer.family} address on ${node.name}`,
                fix: `kubectl get bgppeers.crd.projectcalico.org ${peer.name} -o yaml; ${birdcl(node.name, peer.family)}`,
            });
            evidence.push(`${node.name}: no ${peer.family} session with ${peerLabel(peer)}`);
            continue;
        }
        evidence.push(`${node.name} [${own}] -> ${peerLabel(peer)}: ${session.state || "unknown"}${session.since ? ` since ${session.since}` : ""}`);
        if (session.state !== "Established") {
            findings.push({
                message: `${node.name}'s ${peer.family} BGP session with ${peerLabel(peer)} is ${session.state || "in an unknown state"}`,
                cause: `the router does not accept it: it needs neighbor ${own} remote-as ${plan.bgp!.asNumber}${peer.hasPassword ? " with the same password" : ""}, and TCP port 179 open between ${own} and ${peer.peerIP}`,
                fix: `configure the neighbor on the router, then read BIRD's view: ${birdcl(node.name, peer.family)}`,
            });
        }
    }
}
