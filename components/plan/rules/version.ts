// The distribution's release tag: an exact, pinned tag (the profile's pattern), new enough for
// dual-stack (the profile's minimum).
import { NAMESPACE, StackConfig } from "../../config";
import { profileOf } from "../../distributions";
import type { Problems } from "../../problems";
import type { Plan } from "../types";

export function checkVersion(cfg: StackConfig, p: Problems): Plan["kubernetes"] | undefined {
    const key = `${NAMESPACE}:version`;
    const v = cfg.version;
    const profile = profileOf(cfg.distribution);
    if (/^(latest|stable|testing)$/i.test(v)) {
        p.error(key, v, "channel names are refused because they make previews non-deterministic", `pin an exact release tag such as ${profile.exampleTag}`);
        return undefined;
    }
    const m = profile.tag.exec(v);
    if (!m) {
        p.error(key, v, `is not an exact ${profile.name} release tag (${profile.tagForm})`, `use a tag from the ${profile.name} releases, e.g. ${profile.exampleTag}`);
        return undefined;
    }
    const kube = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
    const min = profile.minimum;
    if (min && (kube.minor < min.minor || (kube.minor === min.minor && kube.patch < min.patch))) {
        p.error(key, v, `${profile.name} dual-stack is stable only since ${min.tag}`, `use ${min.tag} or newer`);
    }
    return kube;
}
