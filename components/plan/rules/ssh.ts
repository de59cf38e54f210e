// SSH: exactly one credential, valid user names, a well-formed jump host.
import { NAMESPACE, StackConfig } from "../../config";
import { familyOfAddress } from "../../net";
import type { Problems } from "../../problems";
import { DNS_NAME, HOST_KEY, UNIX_USER } from "../formats";

export function checkSsh(cfg: StackConfig, p: Problems): void {
    const ssh = cfg.ssh;
    const authCount = [ssh.privateKeyPath, ssh.privateKey, ssh.agentSocketPath].filter((x) => x !== undefined).length;
    if (authCount !== 1) {
        p.error(`${NAMESPACE}:ssh`, authCount === 0 ? "(no credential)" : "(several credentials)", "needs exactly one of privateKeyPath, privateKey (secret) or agentSocketPath", "set one, e.g. `pulumi config set --path dualstack:ssh.privateKeyPath ~/.ssh/id_ed25519`");
    }
    if (!UNIX_USER.test(ssh.user)) {
        p.error(`${NAMESPACE}:ssh.user`, ssh.user, "is not a valid Unix user name", "use a login name such as root or ubuntu");
    }
    if (ssh.proxy) {
        const pr = ssh.proxy;
        if (!familyOfAddress(pr.host) && !DNS_NAME.test(pr.host)) {
            p.error(`${NAMESPACE}:ssh.proxy.host`, pr.host, "is neither an IP address nor a DNS name", "give the jump host's address or name");
        }
        if (!UNIX_USER.test(pr.user)) p.error(`${NAMESPACE}:ssh.proxy.user`, pr.user, "is not a valid Unix user name", "use a login name such as root");
        if (pr.hostKey !== undefined && !HOST_KEY.test(pr.hostKey)) {
            p.error(`${NAMESPACE}:ssh.proxy.hostKey`, pr.hostKey, "is not an authorized_keys-format public key", "copy a line from the jump host's /etc/ssh/ssh_host_*_key.pub");
        }
        if ([pr.privateKeyPath, pr.privateKey, pr.agentSocketPath].filter((x) => x !== undefined).length > 1) {
            p.error(`${NAMESPACE}:ssh.proxy`, "(several credentials)", "takes at most one of privateKeyPath, privateKey or agentSocketPath", "keep one");
        }
    }
}
