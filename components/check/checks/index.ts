// The checks in report order; the order and the titles derive from this list.
import type { Plan } from "../../plan";
import type { CheckId } from "../report";
import { bgp } from "./bgp";
import { calicoNode } from "./calico-node";
import type { Check } from "./check";
import { ipv6Egress } from "./ipv6-egress";
import { ipv6Pool } from "./ipv6-pool";
import { nodes } from "./nodes";
import { probePods } from "./probe-pods";
import { service } from "./service";
import { traefik } from "./traefik";

export type { Check } from "./check";

export const CHECKS: Check[] = [nodes, calicoNode, ipv6Pool, probePods, service, traefik, ipv6Egress, bgp];

/** The checks a plan gets, in report order. */
export function checksFor(plan: Plan): Check[] {
    return CHECKS.filter((c) => c.appliesTo === undefined || c.appliesTo(plan));
}

export const CHECK_TITLES = Object.fromEntries(CHECKS.map((c) => [c.id, c.title])) as Record<CheckId, string>;
