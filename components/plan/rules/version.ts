// The distribution's release tag: an exact, pinned tag, new enough for dual-stack.
import { NAMESPACE, StackConfig } from "../../config";
import type { Problems } from "../../problems";
import type { Plan } from "../types";

const K3S_TAG = /^v(1)\.(\d+)\.(\d+)(-rc\d+)?\+k3s(\d+)$/;
const K0S_TAG = /^v(1)\.(\d+)\.(\d+)(-rc\.\d+)?\+k0s\.(\d+)$/;

export function checkVersion(cfg: StackConfig, p: Problems): Plan["kubernetes"] | undefined {
    const key = `${NAMESPACE}:version`;
    const v = cfg.version;
    if (/^(latest|stable|testing)$/i.test(v)) {
        p.error(key, v, "channel names are refused because they make previews non-deterministic", `pin an exact release tag such as ${cfg.distribution === "k3s" ? "v1.33.5+k3s1" : "v1.34.1+k0s.0"}`);
        return undefined;
    }
    const m = (cfg.distribution === "k3s" ? K3S_TAG : K0S_TAG).exec(v);
    if (!m) {
        p.error(
            key,
            v,
            `is not an exact ${cfg.distribution} release tag (${cfg.distribution === "k3s" ? "vMAJOR.MINOR.PATCH+k3sN" : "vMAJOR.MINOR.PATCH+k0s.N"})`,
            cfg.distribution === "k3s" ? "use a tag from the k3s releases, e.g. v1.33.5+k3s1" : "use a tag from the k0s releases, e.g. v1.34.1+k0s.0",
        );
        return undefined;
    }
    const kube = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
    if (cfg.distribution === "k3s" && (kube.minor < 23 || (kube.minor === 23 && kube.patch < 7))) {
        p.error(key, v, "k3s dual-stack is stable only since v1.23.7+k3s1", "use v1.23.7+k3s1 or newer");
    }
    return kube;
}
