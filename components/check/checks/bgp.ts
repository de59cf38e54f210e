// The bgp check, for plans with dualstack:calico.bgp. Its evidence (CalicoNodeStatus) and judgement
// live in ../bgp.ts, beside the collector lines that gather it; this puts it in the check list.
import { checkBgp, BGP_TITLE } from "../bgp";
import type { Context } from "../evidence";
import type { CheckEntry } from "../report";
import type { Check } from "./check";

export const bgp: Check = {
    id: "bgp",
    title: BGP_TITLE,
    appliesTo: (plan) => plan.bgp !== undefined,
    judge,
};

function judge(ctx: Context): CheckEntry {
    return checkBgp({ plan: ctx.plan, evidence: ctx.doc.bgpStatus, liveNodes: ctx.nodeByName, apiDown: ctx.apiDown });
}
