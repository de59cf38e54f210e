#!/bin/sh
# TEST DOUBLE of k3s's install.sh (https://get.k3s.io) for the dualstack lab. The lab is offline
# and runs no systemd, so this double downloads nothing; it checks what the real script requires
# of an air-gapped install (INSTALL_K3S_SKIP_DOWNLOAD=true and an executable /usr/local/bin/k3s),
# records its argv, environment and the config file it finds under /run/k3s-double, and writes
# what the real script writes: the unit and its env file, the kubectl/crictl/ctr links,
# k3s-killall.sh and k3s-uninstall.sh (server) or k3s-agent-uninstall.sh (agent), all of them
# doubles too. Like the real script it enables the unit and restarts it only when the binary, the
# unit or the env file changed, or when INSTALL_K3S_FORCE_RESTART=true (systemctl is the lab's
# recording systemctl double, which runs ExecStart, i.e. the k3s double).
set -eu
rec=/run/k3s-double
bin=/usr/local/bin
mkdir -p "$rec"
id="install.$(date +%s%N).$$"
printf '%s %s start %s\n' "$(date +%s%N)" "$id" "$*" >> "$rec/calls.log"
printf '%s\n' "$@" > "$rec/$id.argv"
env > "$rec/$id.env"
cp /etc/rancher/k3s/config.yaml "$rec/$id.config" 2>/dev/null || echo "(no /etc/rancher/k3s/config.yaml)" > "$rec/$id.config"

fatal() { echo "[ERROR]  $* (k3s install.sh TEST DOUBLE)" >&2; exit 1; }
cmd=${1:-}
case "$cmd" in
    server) name=k3s ;;
    agent) name=k3s-agent ;;
    *) fatal "the dualstack program always names the command: server or agent (got '$cmd')" ;;
esac
[ -n "${INSTALL_K3S_VERSION:-}" ] || fatal "INSTALL_K3S_VERSION is not set; the double refuses an unpinned install"
[ "${INSTALL_K3S_SKIP_DOWNLOAD:-}" = true ] || fatal "the lab is offline: INSTALL_K3S_SKIP_DOWNLOAD=true is required"
[ -x "$bin/k3s" ] || fatal "Executable k3s binary not found at $bin/k3s"

unit=/etc/systemd/system/$name.service
envfile=$unit.env
hashes() { sha256sum "$bin/k3s" "$unit" "$envfile" 2>&1 || true; }
before=$(hashes)
# The time a real install takes (unit setup, SELinux checks): long enough that installs which run
# concurrently visibly overlap in the lab's timeline.
sleep 1

mkdir -p /etc/systemd/system
printf '%s\n' "[Unit]" "Description=Lightweight Kubernetes (TEST DOUBLE unit)" "[Service]" "Type=notify" \
    "EnvironmentFile=-$envfile" "ExecStart=$bin/k3s $cmd" "[Install]" "WantedBy=multi-user.target" > "$unit"
(umask 077 && { env | grep -E '^(K3S|CONTAINERD)_' || true; } > "$envfile")
for c in kubectl crictl ctr; do
    [ -e "$bin/$c" ] || ln -sf k3s "$bin/$c"
done

cat > "$bin/k3s-killall.sh" <<'KILLALL'
#!/bin/sh
# TEST DOUBLE of k3s-killall.sh (written by the install.sh TEST DOUBLE): stops the k3s units.
printf '%s k3s-killall.sh\n' "$(date +%s%N)" >> /run/k3s-double/calls.log
for service in /etc/systemd/system/k3s*.service; do
    [ -s "$service" ] && systemctl stop "$(basename "$service")"
done
rm -rf /run/k3s /var/lib/cni
exit 0
KILLALL
chmod 0755 "$bin/k3s-killall.sh"

cat > "$bin/$name-uninstall.sh" <<UNINSTALL
#!/bin/sh
# TEST DOUBLE of $name-uninstall.sh (written by the install.sh TEST DOUBLE): records its run,
# then removes what the real uninstall script removes.
set -eu
printf '%s %s\n' "\$(date +%s%N)" "\$0" >> /run/k3s-double/calls.log
$bin/k3s-killall.sh
systemctl disable $name
rm -f $unit $envfile
trap 'rm -f $bin/$name-uninstall.sh' EXIT
if ls /etc/systemd/system/k3s*.service >/dev/null 2>&1; then
    echo 'Additional k3s services installed, skipping uninstall of k3s'
    exit 0
fi
for c in kubectl crictl ctr; do
    if [ -L $bin/\$c ]; then rm -f $bin/\$c; fi
done
rm -rf /etc/rancher/k3s /run/k3s /run/flannel /var/lib/rancher/k3s /var/lib/kubelet
rm -f $bin/k3s $bin/k3s-killall.sh
UNINSTALL
chmod 0755 "$bin/$name-uninstall.sh"

systemctl enable "$name"
if [ "$before" != "$(hashes)" ] || [ "${INSTALL_K3S_FORCE_RESTART:-}" = true ]; then
    systemctl restart "$name"
else
    echo '[INFO]  No change detected so skipping service start'
fi
printf '%s %s end\n' "$(date +%s%N)" "$id" >> "$rec/calls.log"
