// Reads the stack's config from Pulumi into the plan (plain data) and the secrets (Outputs).
// Private keys are read from disk here, at program start, so a missing key file is reported
// before any host is touched, and the key itself only ever travels as a Pulumi secret.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { chartSourceProblems, CHART_NAMES, pinnedChartVersions } from "./charts";
import { NAMESPACE, nearMissNamespaces, parseStackConfig, RawConfig, StackConfig } from "./config";
import type { SshSecrets } from "./connection";
import { profileOf } from "./distributions";
import { loadPlan, Plan } from "./plan";
import { ConfigError, Problem, Problems } from "./problems";
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

/** The key files' contents (read here, once) and every problem with the local files the stack names. */
export interface LocalFiles {
    privateKey?: string;
    proxyPrivateKey?: string;
}

function readKey(key: string, file: string, problems: Problem[]): string | undefined {
    try {
        return normalizeKey(fs.readFileSync(expandHome(file), "utf8"));
    } catch (e) {
        problems.push({ key, value: file, rule: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, fix: "point it at an existing private key file readable by the user running pulumi" });
        return undefined;
    }
}

/**
 * Reads what the stack names on this machine: private key files, and checks the air-gap folder.
 * Inline keys are taken as they are (a SECURE_VALUE stays a placeholder: nothing decrypts it here).
 */
export function readLocalFiles(cfg: StackConfig, problems: Problem[]): LocalFiles {
    const out: LocalFiles = {};
    if (cfg.ssh.privateKey) out.privateKey = normalizeKey(cfg.ssh.privateKey);
    else if (cfg.ssh.privateKeyPath) out.privateKey = readKey(`${NAMESPACE}:ssh.privateKeyPath`, cfg.ssh.privateKeyPath, problems);
    const pr = cfg.ssh.proxy;
    if (pr?.privateKey) out.proxyPrivateKey = normalizeKey(pr.privateKey);
    else if (pr?.privateKeyPath) out.proxyPrivateKey = readKey(`${NAMESPACE}:ssh.proxy.privateKeyPath`, pr.privateKeyPath, problems);
    if (cfg.install.source === "airgap" && cfg.install.airgapDir) {
        const dir = expandHome(cfg.install.airgapDir);
        if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
            problems.push({ key: `${NAMESPACE}:install.airgapDir`, value: cfg.install.airgapDir, rule: "is not a folder on this machine", fix: "point it at the local folder holding the files to copy to the hosts (README: install.airgapDir)" });
        } else {
            const { files: needed, fix } = profileOf(cfg.distribution).airgap;
            for (const f of needed) {
                if (!fs.existsSync(path.join(dir, f))) {
                    problems.push({ key: `${NAMESPACE}:install.airgapDir`, value: cfg.install.airgapDir, rule: `has no ${f}`, fix });
                }
            }
        }
    }
    // Packaged charts are read here too, so a wrong or missing archive stops the run with the rest.
    problems.push(...chartSourceProblems(cfg.charts, pinnedChartVersions(cfg), (f) => fs.readFileSync(expandHome(f))));
    return out;
}

export function secretsFor(plan: Plan, cfg: StackConfig): StackSecrets {
    const problems: Problem[] = [];
    const files = readLocalFiles(cfg, problems);
    if (problems.length > 0) throw new ConfigError(problems, plan.warnings);
    return secretsOf(files, cfg);
}

function secretsOf(files: LocalFiles, cfg: StackConfig): StackSecrets {
    const out: StackSecrets = {};
    if (files.privateKey !== undefined) out.privateKey = pulumi.secret(files.privateKey);
    if (files.proxyPrivateKey !== undefined) out.proxyPrivateKey = pulumi.secret(files.proxyPrivateKey);
    if (cfg.token) out.token = pulumi.secret(cfg.token);
    const passwords = peerPasswords(cfg.calico.bgp);
    if (Object.keys(passwords).length > 0) out.bgpPasswords = pulumi.secret(passwords);
    return out;
}

export interface ValidatedStack {
    plan: Plan;
    config: StackConfig;
    files: LocalFiles;
}

export interface ValidateOptions {
    /** Skip reading key files and the air-gap folder (`npm run render -- <stack> --no-local-files`). */
    skipLocalFiles?: boolean;
}

/**
 * The one validation path of `pulumi up` (readStack) and `npm run render`: config keys and their
 * namespace, shapes, the plan's rules and the local files the stack names. Throws one ConfigError
 * with every problem; `up` refuses exactly what render refuses, with the same messages.
 */
export function validateStack(raw: RawConfig, stackName: string, allKeys: string[], opts: ValidateOptions = {}): ValidatedStack {
    const problems: Problem[] = nearMissNamespaces(allKeys);
    let loaded: { plan: Plan; config: StackConfig } | undefined;
    let warnings: Problem[] = [];
    try {
        loaded = loadPlan(raw, stackName, allKeys);
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        problems.push(...e.problems);
        warnings = e.warnings;
    }
    let files: LocalFiles = {};
    if (loaded) {
        warnings = loaded.plan.warnings;
        // File assets do not expand `~`; the plan stays pure, so the one I/O-facing fix-up happens here.
        if (loaded.plan.install.airgapDir) loaded.plan.install.airgapDir = expandHome(loaded.plan.install.airgapDir);
        for (const chart of CHART_NAMES) {
            const src = loaded.plan.charts[chart];
            if (src?.file) loaded.plan.charts[chart] = { ...src, file: expandHome(src.file) };
        }
    }
    // Local files are checked whenever the shapes are right, also when a plan rule failed, so one
    // run lists every problem.
    const config = loaded?.config ?? parseStackConfig(raw, new Problems());
    if (config && !opts.skipLocalFiles) files = readLocalFiles(config, problems);
    if (problems.length > 0 || !loaded) throw new ConfigError(problems, warnings);
    return { ...loaded, files };
}

/** The plan and secrets of the running stack; throws ConfigError listing every problem. */
export function readStack(): { plan: Plan; config: StackConfig; secrets: StackSecrets } {
    const all = pulumi.runtime.allConfig();
    const { plan, config, files } = validateStack((k) => pulumi.runtime.getConfig(k), pulumi.getStack(), Object.keys(all));
    for (const w of plan.warnings) {
        pulumi.log.warn(`${w.key} = ${JSON.stringify(w.value)}: ${w.rule}. Fix: ${w.fix}.`);
    }
    return { plan, config, secrets: secretsOf(files, config) };
}
