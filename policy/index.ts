// The `dualstack` policy pack: `pulumi preview --policy-pack policy` (any backend, no Pulumi Cloud).
// The checks themselves are pure functions in rules.ts, unit-tested against recorded resource inputs.
import { PolicyPack } from "@pulumi/policy";
import { dualstackPolicies } from "./policies";

new PolicyPack("dualstack", { policies: dualstackPolicies() });
