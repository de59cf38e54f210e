// The dual-stack check's on-host side: a POSIX sh collector that waits (bounded) for the cluster
// to settle, starts probe pods, runs the probes and prints ONE JSON document of raw evidence
// (`kubectl get ... -o json` output plus probe results). It judges nothing: judge.ts does, in
// TypeScript, so every verdict and message is unit-tested against recorded kubectl output.
// Every planned value reaches the script through `q` (shell.ts); manifests come from `yaml`.
import { stringify } from "yaml";
import { profileOf } from "../distributions";
import type { PlannedNode, Plan } from "../plan";
import { assignments, q, script } from "../shell";
import { TRAEFIK } from "../traefik/values";
import { byCodePoint } from "../order";
import { bgpCollectorLines } from "./bgp";

/** Namespace of the probe objects; removed at the end of every run (also when a probe fails). */
export const CHECK_NAMESPACE = "dualstack-check";
/** Name of the probe Service and value of the probe pods' `app.kubernetes.io/name` label. */
export const PROBE_APP = "dualstack-probe";
/** The label key of probe pods and of the Traefik chart's objects. */
export const NAME_LABEL = "app.kubernetes.io/name";
/** busybox `httpd` in each probe pod listens here (on `[::]`, so on both families). */
export const PROBE_PORT = 8080;
export const PROBE_SERVICE_PORT = 80;
/**
 * Neither k3s (`--cluster-domain`) nor k0s (`spec.network.clusterDomain`) is given another domain
 * by this program, so both keep the default.
 */
export const CLUSTER_DOMAIN = "cluster.local";
export const PROBE_DNS_NAME = `${PROBE_APP}.${CHECK_NAMESPACE}.svc.${CLUSTER_DOMAIN}`;
/** The Traefik component's namespace; its chart labels the Service app.kubernetes.io/name=traefik. */
export const TRAEFIK_NAMESPACE = TRAEFIK.namespace;
export const TRAEFIK_APP = "traefik";
/** `k8s-app=calico-node` labels calico-node pods in both the operator's DaemonSet and k0s' manifest. */
export const CALICO_LABEL = "k8s-app";
export const CALICO_APP = "calico-node";
/** Attempts of each probe (5 s apart) while Calico routes and kube-proxy rules settle. */
export const PROBE_ATTEMPTS = 6;

/**
 * Namespace of calico-node: the Tigera operator renders it into `calico-system`
 * (tigera/operator pkg/render/node.go); k0s ships it in `kube-system`
 * (k0s static/manifests/calico/DaemonSet/calico-node.yaml).
 */
export function calicoNamespace(plan: Plan): string {
    return plan.calico.managedBy === "operator" ? "calico-system" : "kube-system";
}

/**
 * The planned nodes that register as Kubernetes Nodes. k3s servers always run an agent; a k0s
 * controller is a Node only with `--enable-worker` (dualstack:cluster.controllersRunWorkloads).
 */
export function kubeNodes(plan: Plan): PlannedNode[] {
    const nodes = profileOf(plan).controlPlanesAreNodes === "always" || plan.cluster.controllersRunWorkloads ? plan.nodes : plan.workers;
    // By name: reordering dualstack:nodes must not change the check's script.
    return [...nodes].sort((a, b) => byCodePoint(a.name, b.name));
}

export function probePodName(node: string): string {
    return `probe-${node}`;
}

/** Pod-to-pod IPv6 pairs: each node's probe fetches from the next node's probe (a ring). */
export function podToPodPairs(plan: Plan): [string, string][] {
    const names = kubeNodes(plan).map((n) => n.name);
    if (names.length < 2) return [];
    return names.map((n, i) => [n, names[(i + 1) % names.length]]);
}

/** The kubectl the cluster components hand over when none is given (render command). */
export function defaultKubectl(plan: Plan): string {
    return `${plan.distribution} kubectl`;
}

/** `k3s kubectl` -> quoted words; refuses anything that is not plain words. */
function kubectlWords(kubectl: string): string {
    const words = kubectl.trim().split(/\s+/).filter((w) => w !== "");
    if (words.length === 0 || words.some((w) => !/^[A-Za-z0-9_./-]+$/.test(w))) {
        throw new Error(`kubectl command ${JSON.stringify(kubectl)} must be plain words such as "k3s kubectl"`);
    }
    return words.map(q).join(" ");
}

const MANAGED_BY = { "app.kubernetes.io/managed-by": "dualstack" };
/** No line folding: a probe's command stays on one line in the rendered manifest. */
const YAML_OPTIONS = { lineWidth: 0 };

/**
 * The probe namespace. `baseline` pins Pod Security to a level the probes meet on every cluster
 * (a cluster-wide `restricted` default would reject them; busybox ping needs the runtime's default
 * NET_RAW, which baseline keeps).
 */
export function namespaceManifest(): string {
    return stringify({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
            name: CHECK_NAMESPACE,
            labels: { ...MANAGED_BY, "pod-security.kubernetes.io/enforce": "baseline" },
        },
    }, YAML_OPTIONS);
}

/**
 * One probe pod per Node, pinned with nodeName and tolerating every taint so control planes get
 * one too, serving its node's name over HTTP.
 */
export function probePodsManifest(plan: Plan): string {
    const pods = kubeNodes(plan).map((n) => ({
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
            name: probePodName(n.name),
            namespace: CHECK_NAMESPACE,
            labels: { [NAME_LABEL]: PROBE_APP, ...MANAGED_BY },
        },
        spec: {
            nodeName: n.name,
            tolerations: [{ operator: "Exists" }],
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 0,
            containers: [
                {
                    name: "probe",
                    image: plan.checks.probeImage,
                    imagePullPolicy: "IfNotPresent",
                    // busybox httpd with a bare port binds [::] (libbb create_and_bind_or_die with
                    // AF_UNSPEC tries IPv6 first), which accepts both families.
                    command: ["sh", "-c", `mkdir -p /www && echo ${q(n.name)} > /www/index.html && exec httpd -f -p ${PROBE_PORT} -h /www`],
                    ports: [{ name: "http", containerPort: PROBE_PORT }],
                    readinessProbe: { tcpSocket: { port: PROBE_PORT }, periodSeconds: 2 },
                },
            ],
        },
    }));
    return stringify({ apiVersion: "v1", kind: "List", items: pods }, YAML_OPTIONS);
}

/**
 * The probe Service. Applied apart from the pods: a single-stack cluster refuses RequireDualStack
 * ("this cluster is not configured for dual-stack services"), and the pod probes still run then.
 */
export function probeServiceManifest(plan: Plan): string {
    return stringify({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: PROBE_APP, namespace: CHECK_NAMESPACE, labels: { ...MANAGED_BY } },
        spec: {
            type: "ClusterIP",
            ipFamilyPolicy: "RequireDualStack",
            ipFamilies: [...plan.families],
            selector: { [NAME_LABEL]: PROBE_APP },
            ports: [{ name: "http", port: PROBE_SERVICE_PORT, targetPort: "http" }],
        },
    }, YAML_OPTIONS);
}

// Shell library of the collector. String.raw keeps backslashes as written; it holds no `${`;
// `@NAME@` tokens are filled by `fill` with digits or quoted words.
const LIBRARY = String.raw`k() { @KUBECTL@ "$@"; }
say() { printf 'dualstack-check: %s\n' "$*" >&2; }
now() { date +%s; }
started=$(now)
deadline=$((started + @DEADLINE@))
tmp=$(mktemp -d)
doc="$tmp/doc.json"

# The probe namespace goes on every exit: success, failed probe, kubectl error or signal.
cleanup() {
  rc=$?
  trap - EXIT
  k delete namespace "$NS" --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1 ||
    say "could not remove namespace $NS; remove it with: kubectl delete namespace $NS"
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# json_str TEXT: TEXT as a JSON string (tabs become spaces, other control characters are dropped).
json_str() {
  printf '%s' "$1" | tr '\011' ' ' | tr -d '\000-\010\013-\037' |
    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' |
    awk 'BEGIN { ORS = ""; printf "%s", "\"" } { if (NR > 1) printf "%s", "\\n"; printf "%s", $0 } END { printf "%s", "\"" }'
}

# obj KEY JSON [KEY JSON]...: a one-line JSON object from keys and already-encoded values.
obj() {
  sep='{'
  while [ "$#" -ge 2 ]; do
    printf '%s"%s":%s' "$sep" "$1" "$2"
    sep=','
    shift 2
  done
  printf '}'
}

# add LIST JSON / list LIST: one-line JSON values collected into a JSON array.
add() { printf '%s\n' "$2" >>"$tmp/$1.list"; }
list() {
  printf '['
  if [ -f "$tmp/$1.list" ]; then paste -s -d , "$tmp/$1.list" | tr -d '\n'; fi
  printf ']'
}

# retry CMD...: runs CMD until it succeeds or the deadline has passed (always at least once).
retry() {
  while ! "$@" >/dev/null 2>&1; do
    if [ "$(now)" -ge "$deadline" ]; then return 1; fi
    sleep 5
  done
}

# wait_for WHAT CMD...: a bounded wait whose outcome is kept as evidence.
wait_for() {
  what=$1
  shift
  say "waiting for $what"
  if retry "$@"; then ok=true; else ok=false; say "gave up waiting for $what"; fi
  add waits "$(obj what "$(json_str "$what")" ok "$ok" seconds "$(($(now) - started))")"
}

# capture KEY ARGS...: the JSON of 'kubectl get ARGS', or the error kubectl gave.
capture() {
  key=$1
  shift
  if k get "$@" -o json >"$tmp/out" 2>"$tmp/err"; then
    {
      printf '"%s":{"json":' "$key"
      cat "$tmp/out"
      printf '},\n'
    } >>"$doc"
  else
    printf '"%s":{"error":%s},\n' "$key" "$(json_str "$(cat "$tmp/err")")" >>"$doc"
  fi
}

# apply WHAT MANIFEST: kubectl apply; a refusal is kept as evidence.
apply() {
  if printf '%s\n' "$2" | k apply -f - >"$tmp/out" 2>"$tmp/err"; then return 0; fi
  add applyErrors "$(obj what "$(json_str "$1")" error "$(json_str "$(cat "$tmp/err")")")"
  say "kubectl apply of the $1 failed: $(cat "$tmp/err")"
  return 1
}

# run_probe POD CMD...: runs CMD in a probe pod, retrying while the network settles; sets out, rc, tries.
run_probe() {
  pod=$1
  shift
  tries=0
  while :; do
    tries=$((tries + 1))
    if out=$(k -n "$NS" exec --request-timeout=60s "$pod" -- "$@" 2>&1); then rc=0; else rc=$?; fi
    if [ "$rc" -eq 0 ] || [ "$tries" -ge @ATTEMPTS@ ] || [ "$(now)" -ge "$deadline" ]; then return 0; fi
    sleep 5
  done
}

# result: the last run_probe as JSON.
result() { obj rc "$rc" tries "$tries" output "$(json_str "$out")"; }

# pod_ips NODE: the addresses of the probe pod on NODE.
pod_ips() { k -n "$NS" get pod "probe-$1" -o jsonpath='{.status.podIPs[*].ip}' 2>/dev/null || true; }

# pod_to_pod FROM TO: the probe on FROM fetches the page of the probe on TO over IPv6.
pod_to_pod() {
  target=''
  for ip in $(pod_ips "$2"); do
    case $ip in *:*) target=$ip ;; esac
  done
  if [ -z "$target" ]; then
    add podToPod "$(obj from "$(json_str "$1")" to "$(json_str "$2")" target null)"
    return 0
  fi
  say "pod-to-pod IPv6: $1 -> $2 [$target]"
  run_probe "probe-$1" wget -q -O - -T 5 "http://[$target]:@PROBE_PORT@/"
  add podToPod "$(obj from "$(json_str "$1")" to "$(json_str "$2")" target "$(json_str "$target")" result "$(result)")"
}

# service_probe: the probe Service answers on each of its clusterIPs.
service_probe() {
  ips=$(k -n "$NS" get service "$SERVICE" -o jsonpath='{.spec.clusterIPs[*]}' 2>/dev/null || true)
  for ip in $ips; do
    case $ip in *:*) url="http://[$ip]:@SERVICE_PORT@/" ;; *) url="http://$ip:@SERVICE_PORT@/" ;; esac
    say "Service probe: $url"
    run_probe "$CLIENT" wget -q -O - -T 5 "$url"
    add service "$(obj target "$(json_str "$ip")" result "$(result)")"
  done
}

# traefik_lb_dual: the Traefik Service has load-balancer addresses of both families.
traefik_lb_dual() {
  ips=$(k -n "$TRAEFIK_NS" get service -l "$NAME_LABEL=$TRAEFIK_APP" -o jsonpath='{.items[*].status.loadBalancer.ingress[*].ip}') || return 1
  case $ips in *:*) ;; *) return 1 ;; esac
  case $ips in *.*) return 0 ;; *) return 1 ;; esac
}`;

/** Replaces every `@NAME@` token; each value is already shell-safe (quoted words or digits). */
function fill(text: string, values: Record<string, string>): string {
    return text.replace(/@([A-Z_]+)@/g, (_, name: string) => {
        if (!(name in values)) throw new Error(`no value for @${name}@`);
        return values[name];
    });
}

/**
 * The collector. Exit status is 0 whenever it could print its document, also when the cluster is
 * broken: judge.ts turns the evidence into verdicts and messages, which a non-zero exit could not
 * carry (the provider would print the whole script instead).
 */
export function collectorScript(plan: Plan, kubectl: string): string {
    const nodes = kubeNodes(plan);
    const client = nodes.length > 0 ? probePodName(nodes[0].name) : "";
    const lbWanted = plan.traefik.loadBalancer === "servicelb" || plan.traefik.loadBalancer === "metallb";
    const library = fill(LIBRARY, {
        KUBECTL: kubectlWords(kubectl),
        DEADLINE: String(plan.checks.timeoutSeconds),
        ATTEMPTS: String(PROBE_ATTEMPTS),
        PROBE_PORT: String(PROBE_PORT),
        SERVICE_PORT: String(PROBE_SERVICE_PORT),
    });
    return script(
        "# dualstack: raw evidence for the dual-stack check; judged by components/check/judge.ts.",
        "# stdout: one JSON document. stderr: progress. Probe objects are removed on exit.",
        "umask 077",
        // sudo's secure_path often lacks /usr/local/bin, where k3s and k0s install themselves.
        'PATH="$PATH:/usr/local/bin:/opt/bin"',
        "export PATH",
        assignments({
            NS: CHECK_NAMESPACE,
            SERVICE: PROBE_APP,
            NAME_LABEL,
            PROBE_APP,
            CALICO_NS: calicoNamespace(plan),
            CALICO_LABEL,
            CALICO_APP,
            TRAEFIK_NS: TRAEFIK_NAMESPACE,
            TRAEFIK_APP,
            CLIENT: client,
            ...(nodes.length > 0
                ? {
                      DNS_NAME: PROBE_DNS_NAME,
                      EGRESS_TARGET: plan.checks.egressTarget ?? "",
                      NAMESPACE_MANIFEST: namespaceManifest(),
                      PODS_MANIFEST: probePodsManifest(plan),
                      SERVICE_MANIFEST: probeServiceManifest(plan),
                  }
                : {}),
        }),
        library,
        "",
        `printf '{"schema":"dualstack-check/1","startedAt":"%s",\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$doc"`,
        "",
        "# 1. Let the cluster settle, within one deadline for the whole run.",
        `wait_for "the API server" k get --raw=/readyz`,
        ...nodes.map((n) => `wait_for ${q(`node ${n.name} Ready`)} k wait --for=condition=Ready node/${q(n.name)} --timeout=10s`),
        `wait_for "calico-node on every node" k -n "$CALICO_NS" rollout status daemonset/calico-node --timeout=10s`,
        ...(lbWanted ? [`wait_for "Traefik load-balancer addresses of both families" traefik_lb_dual`] : []),
        "",
        "# 2. Probe pods, one per node, and the probe Service.",
        "dns=null",
        "egress=null",
        ...(nodes.length > 0 ? probePhase(plan) : ["# No node runs pods: nothing to probe."]),
        "",
        ...bgpCollectorLines(plan),
        "",
        "# 3. The raw objects the judge reads.",
        "capture nodes nodes",
        `capture calicoPods pods -n "$CALICO_NS" -l "$CALICO_LABEL=$CALICO_APP"`,
        "capture ipPools ippools.crd.projectcalico.org",
        `capture probePods pods -n "$NS" -l "$NAME_LABEL=$PROBE_APP"`,
        `capture probeService service -n "$NS" "$SERVICE"`,
        `capture probeEvents events -n "$NS"`,
        `capture traefikServices services -n "$TRAEFIK_NS" -l "$NAME_LABEL=$TRAEFIK_APP"`,
        "{",
        `  printf '"waits":%s,\\n' "$(list waits)"`,
        `  printf '"applyErrors":%s,\\n' "$(list applyErrors)"`,
        `  printf '"probes":%s,\\n' "$(obj podToPod "$(list podToPod)" service "$(list service)" dns "$dns" egress "$egress")"`,
        `  printf '"finishedAt":"%s"}\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"`,
        `} >>"$doc"`,
        `cat "$doc"`,
    );
}

/** Probe pods, the probe Service and the probes run from them. */
function probePhase(plan: Plan): string[] {
    return [
        `k delete namespace "$NS" --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1 || true`,
        "probes=false",
        `if apply namespace "$NAMESPACE_MANIFEST"; then`,
        `  wait_for "the default ServiceAccount of $NS" k -n "$NS" get serviceaccount default`,
        `  if apply "probe pods" "$PODS_MANIFEST"; then probes=true; fi`,
        `  apply "probe Service" "$SERVICE_MANIFEST" || true`,
        `  if [ "$probes" = true ]; then`,
        `    wait_for "probe pods Ready" k -n "$NS" wait --for=condition=Ready pod -l "$NAME_LABEL=$PROBE_APP" --timeout=10s`,
        "  fi",
        "fi",
        `if [ "$probes" = true ]; then`,
        ...podToPodPairs(plan).map(([a, b]) => `  pod_to_pod ${q(a)} ${q(b)}`),
        "  service_probe",
        `  say "cluster DNS: AAAA $DNS_NAME"`,
        `  run_probe "$CLIENT" nslookup -type=AAAA "$DNS_NAME"`,
        `  dns=$(obj name "$(json_str "$DNS_NAME")" result "$(result)")`,
        `  if [ -n "$EGRESS_TARGET" ]; then`,
        `    say "IPv6 egress to $EGRESS_TARGET"`,
        `    run_probe "$CLIENT" ping -6 -c 3 -w 10 "$EGRESS_TARGET"`,
        `    egress=$(obj target "$(json_str "$EGRESS_TARGET")" result "$(result)")`,
        "  fi",
        "fi",
    ];
}

/**
 * Removes the probe namespace. Each run already removes it on exit; this covers a run cut off by
 * a host reboot, when the check is switched off (dualstack:checks.enabled) or the stack destroyed.
 * Best effort: a cluster that is already gone has nothing left to remove.
 */
export function cleanupScript(kubectl: string): string {
    return script(
        'PATH="$PATH:/usr/local/bin:/opt/bin"',
        "export PATH",
        `${kubectlWords(kubectl)} delete namespace ${q(CHECK_NAMESPACE)} --ignore-not-found --wait=false >/dev/null 2>&1 || true`,
    );
}
