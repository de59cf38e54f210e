// Reads the stack's config from Pulumi into the plan (plain data) and the secrets (Outputs).
// Private keys are read from disk here, at program start, so a missing key file is reported
// before any host is touched, and the key itself only ever travels as a Pulumi secret.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { chartSourceProblems, CHART_NAMES, pinnedChartVersions } from "./charts";
import { NAMESPACE, StackConfig } from "./config";
import type { SshSecrets } from "./connection";
import { profileOf } from "./distributions";
import { loadPlan, Plan } from "./plan";
import { ConfigError, Problem } from "./problems";
import { peerPasswords } from "./calico/bgp-rules";

export interface StackSecrets extends SshSecrets {
    /** Cluster join token from config, when the user pinned one. */
    token?: pulumi.Output<string>;
    /** BGP peer passwords by BGPPeer name (dualstack:calico.bgp.peers[*].password). */
    bgpPasswords?: pulumi.Output<Record<string, string>>;
}

function expandHome(p: string): string {
    return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

/**
 * `pulumi config set` strips one trailing newline from stdin while a key file keeps it; without
 * normalising, deploying from a laptop (key file) and from CI (config secret) would differ in every
 * command's connection and show every command as an update.
 */
export function normalizeKey(key: string): string {
    return key.replace(/\s+$/, "") + "\n";
}

function readKey(key: string, file: string, problems: Problem[]): pulumi.Output<string> | undefined {
    try {
        return pulumi.secret(normalizeKey(fs.readFileSync(expandHome(file), "utf8")));
    } catch (e) {
        problems.push({ key, value: file, rule: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, fix: "point it at an existing private key file readable by the user running pulumi" });
        return undefined;
    }
}

export function secretsFor(plan: Plan, cfg: StackConfig): StackSecrets {
    const problems: Problem[] = [];
    const out: StackSecrets = {};
    if (cfg.ssh.privateKey) out.privateKey = pulumi.secret(normalizeKey(cfg.ssh.privateKey));
    else if (cfg.ssh.privateKeyPath) out.privateKey = readKey(`${NAMESPACE}:ssh.privateKeyPath`, cfg.ssh.privateKeyPath, problems);
    const pr = cfg.ssh.proxy;
    if (pr?.privateKey) out.proxyPrivateKey = pulumi.secret(normalizeKey(pr.privateKey));
    else if (pr?.privateKeyPath) out.proxyPrivateKey = readKey(`${NAMESPACE}:ssh.proxy.privateKeyPath`, pr.privateKeyPath, problems);
    if (cfg.token) out.token = pulumi.secret(cfg.token);
    const passwords = peerPasswords(cfg.calico.bgp);
    if (Object.keys(passwords).length > 0) out.bgpPasswords = pulumi.secret(passwords);
    if (cfg.install.source === "airgap" && plan.install.airgapDir) {
        const { files: needed, fix } = profileOf(plan).airgap;
        for (const f of needed) {
            if (!fs.existsSync(path.join(plan.install.airgapDir, f))) {
                problems.push({
                    key: `${NAMESPACE}:install.airgapDir`,
                    value: cfg.install.airgapDir,
                    rule: `has no ${f}`,
                    fix,
                });
            }
        }
    }
    // Packaged charts are read here too, so a wrong or missing archive stops the run with the rest.
    problems.push(...chartSourceProblems(plan.charts, pinnedChartVersions(plan), (f) => fs.readFileSync(f)));
    if (problems.length > 0) throw new ConfigError(problems, plan.warnings);
    return out;
}

/** The plan and secrets of the running stack; throws ConfigError listing every problem. */
export function readStack(): { plan: Plan; config: StackConfig; secrets: StackSecrets } {
    const all = pulumi.runtime.allConfig();
    const { plan, config } = loadPlan((k) => pulumi.runtime.getConfig(k), pulumi.getStack(), Object.keys(all));
    // File assets do not expand `~`; the plan stays pure, so the one I/O-facing fix-up happens here.
    if (plan.install.airgapDir) plan.install.airgapDir = expandHome(plan.install.airgapDir);
    for (const chart of CHART_NAMES) {
        const src = plan.charts[chart];
        if (src?.file) plan.charts[chart] = { ...src, file: expandHome(src.file) };
    }
    for (const w of plan.warnings) {
        pulumi.log.warn(`${w.key} = ${JSON.stringify(w.value)}: ${w.rule}. Fix: ${w.fix}.`);
    }
    return { plan, config, secrets: secretsFor(plan, config) };
}
