// Installers pinned to the release tag, for `install.source: script`. Pure.
//
// - k3s: the install.sh of the pinned tag from the k3s repository
//   (raw.githubusercontent.com/k3s-io/k3s/<tag>/install.sh), not https://get.k3s.io, whose
//   content changes with every k3s release. install.sh itself then downloads the pinned binary
//   and checks it against the release's sha256sum-<arch>.txt.
// - k0s: the tag's binary `k0s-<tag>-<arch>` from the GitHub release, checked against the
//   release's published `sha256sums.txt` (k0s .github/workflows/release.yml: asset names
//   `k0s-<tag>-amd64|arm64|arm`, checksums from `sha256sum -b *`, so names carry a leading `*`),
//   not https://get.k0s.sh (which checks nothing).
// - `install.sha256: {<file>: <hex>}` pins a file's digest on top; it is checked before the
//   file is used, and a mismatch fails the step before anything is installed.
// The air-gapped path (`install.source: airgap`) is unchanged: nothing is downloaded there.
import type { DayTwoProfile } from "./distributions/profile";
import { findings, Findings } from "./findings";
import { q } from "./shell";

const KEY = "dualstack:install.sha256";
const HEX64 = /^[0-9a-f]{64}$/;

export const K3S_INSTALLER = "install.sh";
export const K0S_ARCHES = { amd64: "x86_64|amd64", arm64: "aarch64|arm64", arm: "armv7l|armv7*|armhf|arm" } as const;
export const K0S_SUMS = "sha256sums.txt";

/** A path segment with the tag's `+` percent-encoded. */
const seg = (s: string) => encodeURIComponent(s);

/**
 * A download URL as a shell word. Built from a version tag the plan validated, so it holds only
 * characters sh treats literally; written as is, like the other URL constants (shell-quote would
 * escape the `:`), and refused here should that ever not hold.
 */
function urlWord(url: string): string {
    if (!/^https:\/\/[A-Za-z0-9._~%\/+-]+$/.test(url)) throw new Error(`refusing to put ${JSON.stringify(url)} into a script`);
    return url;
}

export function k3sInstallerUrl(version: string): string {
    return `https://raw.githubusercontent.com/k3s-io/k3s/${seg(version)}/${K3S_INSTALLER}`;
}

export function k0sAssetName(version: string, arch: keyof typeof K0S_ARCHES): string {
    return `k0s-${version}-${arch}`;
}

export function k0sReleaseUrl(version: string, file: string): string {
    return `https://github.com/k0sproject/k0s/releases/download/${seg(version)}/${seg(file)}`;
}

export interface InstallTarget {
    /** The distribution's name, for messages. */
    name: string;
    /** The files it may pin, or why there are none (its profile's day-two entry). */
    profile: DayTwoProfile["installSha256"];
}

export function installSha256Findings(target: InstallTarget, version: string, source: "script" | "airgap", sha256: Record<string, string>): Findings {
    const f = findings();
    const names = Object.keys(sha256);
    if (names.length === 0) return f;
    if ("unsupported" in target.profile) {
        f.error(KEY, sha256, target.profile.unsupported.rule, target.profile.unsupported.fix);
        return f;
    }
    if (source === "airgap") {
        f.error(KEY, sha256, "only applies to install.source script; air-gapped files come from your own install.airgapDir and are not downloaded", "remove install.sha256, or check the files in install.airgapDir yourself");
        return f;
    }
    const allowed = target.profile.pinnableFiles(version);
    for (const name of names) {
        if (!allowed.includes(name)) {
            f.error(`${KEY}.${name}`, sha256[name], `names no file ${target.name} ${version} downloads (a digest for another version would fail every install)`, `pin one of ${allowed.join(", ")}`);
        }
        if (!HEX64.test(sha256[name])) f.error(`${KEY}.${name}`, sha256[name], "is not a SHA-256 digest (64 lowercase hex digits)", "copy the digest from the release's checksum file or `sha256sum <file>`");
    }
    return f;
}

/** Defines `fetch URL FILE`: curl or wget, HTTPS only, failing on HTTP errors. */
function fetchFunctionLines(what: string): string[] {
    return [
        "fetch() {",
        "    if command -v curl >/dev/null 2>&1; then",
        `        curl --proto '=https' --tlsv1.2 -sSfL -o "$2" "$1"`,
        "    elif command -v wget >/dev/null 2>&1; then",
        `        wget --https-only -qO "$2" "$1"`,
        "    else",
        `        echo ${q(`dualstack: neither curl nor wget is installed to fetch ${what}`)} >&2`,
        "        exit 1",
        "    fi",
        "}",
    ];
}

/** Fails unless the file `file` (shell word) has the digest in the shell word `want`. */
function digestCheckLines(file: string, want: string, what: string): string[] {
    return [
        `want=${want}`,
        `have=$(sha256sum ${file} | cut -d ' ' -f 1)`,
        'if [ "$have" != "$want" ]; then',
        `    echo "dualstack: ${what} has sha256 $have, expected $want; nothing was installed" >&2`,
        "    exit 1",
        "fi",
    ];
}

/**
 * Lines that leave the pinned k3s install.sh at "$installer" (in a temporary directory removed on
 * exit), checked against install.sha256 when pinned.
 */
export function k3sInstallerLines(version: string, sha256: Record<string, string>): string[] {
    const pinned = sha256[K3S_INSTALLER];
    return [
        "# The install.sh of the pinned tag, downloaded to a file first: `curl | sh` would run an empty script (and succeed) when curl fails.",
        'tmp=$(mktemp -d)',
        `trap 'rm -rf "$tmp"' EXIT`,
        'installer="$tmp/install.sh"',
        ...fetchFunctionLines(`the k3s ${version} installer`),
        `fetch ${urlWord(k3sInstallerUrl(version))} "$installer"`,
        ...(pinned ? digestCheckLines('"$installer"', q(pinned), `install.sh of k3s ${version}`) : []),
    ];
}

/**
 * Lines that put the pinned k0s binary at `dest`: the tag's release asset for this host's
 * architecture, checked against the release's sha256sums.txt and, when pinned, install.sha256.
 * Only a checked binary is moved into place (copy then rename, so a running k0s is not hit).
 */
export function k0sBinaryLines(version: string, sha256: Record<string, string>, dest: string): string[] {
    const arches = Object.entries(K0S_ARCHES) as [keyof typeof K0S_ARCHES, string][];
    return [
        'case "$(uname -m)" in',
        ...arches.map(([arch, machines]) => {
            const asset = k0sAssetName(version, arch);
            return `    ${machines}) asset=${q(asset)}; url=${urlWord(k0sReleaseUrl(version, asset))}; pinned=${q(sha256[asset] ?? "")} ;;`;
        }),
        `    *) echo "dualstack: k0s publishes no binary for $(uname -m)" >&2; exit 1 ;;`,
        "esac",
        'tmp=$(mktemp -d)',
        `trap 'rm -rf "$tmp"' EXIT`,
        ...fetchFunctionLines(`the k0s ${version} binary`),
        'fetch "$url" "$tmp/k0s"',
        `fetch ${urlWord(k0sReleaseUrl(version, K0S_SUMS))} "$tmp/${K0S_SUMS}"`,
        // `sha256sum -b` writes `<hex> *<name>`: compare names without the binary-mode marker.
        `published=$(awk -v f="$asset" '{ n = $2; sub(/^\\*/, "", n); if (n == f) print $1 }' "$tmp/${K0S_SUMS}")`,
        'if [ -z "$published" ]; then echo "dualstack: $asset is not listed in sha256sums.txt of the release" >&2; exit 1; fi',
        ...digestCheckLines('"$tmp/k0s"', '"$published"', "the downloaded $asset (release sha256sums.txt)"),
        'if [ -n "$pinned" ]; then',
        ...digestCheckLines('"$tmp/k0s"', '"$pinned"', "the downloaded $asset (dualstack:install.sha256)").map((l) => `    ${l}`),
        "fi",
        `cp "$tmp/k0s" ${q(`${dest}.dualstack-new`)}`,
        `chmod 0755 ${q(`${dest}.dualstack-new`)}`,
        `mv -f ${q(`${dest}.dualstack-new`)} ${q(dest)}`,
    ];
}
