// Shared inputs of the day-two tests (registries with a password to search for, node lists).
import { baseConfig, ConfigInput, tryPlan } from "./configs";

export const PASSWORD = "s3cret-registry-passw0rd";
export const REGISTRIES = {
    mirrors: {
        "docker.io": { endpoint: ["https://mirror.example.com:5000", "https://[fd45:a71:55a6:1::5]:5000"], rewrite: { "^rancher/(.*)": "mirrorproject/rancher-images/$1" } },
    },
    configs: {
        "mirror.example.com:5000": { auth: { username: "puller", password: PASSWORD }, tls: { ca_file: "/etc/ssl/mirror/ca.pem" } },
    },
};
/** The same without rewrite, which k0s refuses. */
export const K0S_REGISTRIES = { mirrors: { "docker.io": { endpoint: REGISTRIES.mirrors["docker.io"].endpoint } }, configs: REGISTRIES.configs };

const cp = (i: number) => ({ name: `cp${i}`, host: `192.168.121.${10 + i}`, role: "control-plane", interface: "eth0" });
const wk = (i: number) => ({ name: `worker${i}`, host: `192.168.121.${100 + i}`, role: "worker", interface: "eth0" });
export const nodes = (servers: number, workers: number) => [...Array.from({ length: servers }, (_, i) => cp(i + 1)), ...Array.from({ length: workers }, (_, i) => wk(i + 1))];
export const k0s = (o: ConfigInput = {}) => baseConfig({ distribution: "k0s", version: "v1.36.3+k0s.2", ...o });
export const errorsOf = (cfg: ConfigInput) => tryPlan(cfg).problems.errors;
export const warningsOf = (cfg: ConfigInput) => tryPlan(cfg).problems.warnings;
