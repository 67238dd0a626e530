"""The shared-AMI guidelines (AWS "Guidelines for shared Linux AMIs" and the Marketplace
policy grown from them) as read-only checks on a live system or a mounted image.

Each check has a stable id, a status (pass, warn, fail, info), the evidence it saw (never a
secret or a password hash) and the fix, as a command or an edit.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field

from scrub import sshd
from scrub._paths import display
from scrub.discover import catalog, safefs

STATUSES = ("pass", "warn", "fail", "info")
ROOT_LOGIN_OK = {"no", "prohibit-password", "without-password", "forced-commands-only"}


@dataclass
class Check:
    id: str
    number: int
    title: str
    status: str = "pass"
    evidence: list[str] = field(default_factory=list)
    fix: str = ""

    def to_json(self) -> dict:
        return {"id": self.id, "number": self.number, "title": self.title, "status": self.status,
                "evidence": self.evidence, "fix": self.fix}


@dataclass
class AuditReport:
    root: bytes
    checks: list[Check] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    def to_json(self) -> dict:
        counts = {s: sum(1 for c in self.checks if c.status == s) for s in STATUSES}
        return {"root": os.fsdecode(self.root), "checks": [c.to_json() for c in self.checks], "summary": counts,
                "errors": self.errors}


class _Root:
    """Read-only access to files inside the root (symlinks clamped to it)."""

    def __init__(self, root: bytes):
        from scrub.discover.scan import open_root

        self.path = root
        self.fd = open_root(root)

    def close(self):
        os.close(self.fd)

    def read(self, path: str, limit: int = 1 << 20) -> bytes | None:
        try:
            fd = safefs.open_in_root(self.fd, os.fsencode(path), safefs.O_FILE & ~os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            return os.read(fd, limit)
        except OSError:
            return None
        finally:
            os.close(fd)

    def text(self, path: str) -> str:
        data = self.read(path)
        return data.decode("utf-8", "replace") if data else ""

    def exists(self, path: str) -> bool:
        parent, name = os.path.split(path.rstrip("/"))
        try:
            dfd = safefs.open_in_root(self.fd, os.fsencode(parent or "/"))
        except OSError:
            return False
        try:
            return safefs.lstat_at(dfd, os.fsencode(name)) is not None
        finally:
            os.close(dfd)

    def glob(self, pattern: str) -> list[str]:
        parent, name = os.path.split(pattern)
        try:
            dfd = safefs.open_in_root(self.fd, os.fsencode(parent))
        except OSError:
            return []
        try:
            return sorted(f"{parent}/{n}" for n in os.listdir(dfd) if fnmatch.fnmatchcase(n, name))
        finally:
            os.close(dfd)


# ---------------------------------------------------------------------------------------
# The checks


def _cloud_cfg(r: _Root) -> str:
    """cloud-init's configuration: cloud.cfg and its drop-ins, as one text."""
    return "\n".join(r.text(p) for p in ["/etc/cloud/cloud.cfg"] + r.glob("/etc/cloud/cloud.cfg.d/*.cfg"))


def _tools_at_boot(r: _Root) -> Check:
    c = Check("tools-at-boot", 1, "AMI tools or packages are updated at boot (instance-store AMIs)")
    cloud = _cloud_cfg(r)
    hooks = []
    m = re.search(r"(?m)^\s*(package_update|package_upgrade)\s*:\s*(true|yes)\b", cloud)
    if m:
        hooks.append(f"cloud-init {m.group(1)}: {m.group(2)}")
    m = re.search(r"(?m)^\s*repo_upgrade\s*:\s*(security|bugfix|all)\b", cloud)
    if m:
        hooks.append(f"cloud-init repo_upgrade: {m.group(1)}")
    for path in ("/etc/rc.local", "/etc/rc.d/rc.local"):
        text = r.text(path)
        if re.search(r"(yum|dnf)\s+(-y\s+)?(update|upgrade)|apt(-get)?\s+(-y\s+)?(upgrade|install)|ec2-ami-tools", text):
            hooks.append(f"{path} updates packages")
    auto = r.text("/etc/apt/apt.conf.d/20auto-upgrades")
    if re.search(r'Unattended-Upgrade\s+"1"', auto):
        hooks.append("unattended-upgrades enabled")
    if r.exists("/etc/systemd/system/timers.target.wants/dnf-automatic.timer"):
        hooks.append("dnf-automatic timer enabled")
    if hooks:
        c.evidence = hooks
    else:
        c.status = "info"
        c.evidence = ["no update at boot found (cloud-init package_update/repo_upgrade, rc.local, unattended-upgrades)"]
        c.fix = ("For instance-store-backed AMIs, update at boot: add `package_update: true` (or Amazon Linux's "
                 "`repo_upgrade: security`) to /etc/cloud/cloud.cfg.d/; EBS-backed AMIs can be updated after launch.")
    return c


def _ssh_root_login(cfg: sshd.SshdConfig) -> Check:
    c = Check("ssh-root-login", 2, "root cannot log in over SSH with a password; password authentication is off")
    if not cfg.found:
        c.status, c.evidence = "info", ["no /etc/ssh/sshd_config: the OpenSSH server is not installed"]
        return c
    prl, where = cfg.value("PermitRootLogin")
    pwa, pwhere = cfg.value("PasswordAuthentication")
    c.evidence.append(f"PermitRootLogin {prl} ({where})")
    c.evidence.append(f"PasswordAuthentication {pwa} ({pwhere})")
    bad = []
    if prl.lower() not in ROOT_LOGIN_OK:
        bad.append("PermitRootLogin")
    if pwa.lower() != "no":
        bad.append("PasswordAuthentication")
    for m in cfg.matches:
        s = m.settings.get("permitrootlogin")
        if s and s.value.lower() not in ROOT_LOGIN_OK:
            bad.append("Match")
            c.evidence.append(f"Match {m.criteria} ({m.file}:{m.line}): PermitRootLogin {s.value} ({s.where()})")
        s = m.settings.get("passwordauthentication")
        if s and s.value.lower() != "no":
            bad.append("Match")
            c.evidence.append(f"Match {m.criteria} ({m.file}:{m.line}): PasswordAuthentication {s.value} ({s.where()})")
    c.evidence += cfg.problems
    if bad:
        c.status = "fail"
        c.fix = ("In /etc/ssh/sshd_config (before any Include or Match, as the first value wins): "
                 "`PermitRootLogin prohibit-password` and `PasswordAuthentication no`; remove the overrides above.")
    elif cfg.problems:
        c.status = "warn"
        c.fix = "Fix the Include problems listed."
    return c


def _root_locked(r: _Root) -> Check:
    c = Check("root-locked", 3, "the root account is locked and no account has an empty password")
    shadow = r.read("/etc/shadow")
    if shadow is None:
        if not r.exists("/etc/shadow"):  # missing is not unreadable: say which
            c.status, c.evidence = "warn", ["/etc/shadow is missing: passwords cannot be checked"]
            c.fix = "Check that the image is complete (`pwconv` creates /etc/shadow from /etc/passwd)."
            return c
        c.status, c.evidence = "warn", ["/etc/shadow cannot be read (run as root)"]
        c.fix = "Run the audit as root."
        return c
    empty, root_state = [], None
    for line in shadow.decode("utf-8", "replace").splitlines():
        parts = line.split(":")
        if len(parts) < 2:
            continue
        user, pw = parts[0], parts[1]
        if user == "root":
            root_state = "locked" if pw.startswith(("!", "*")) else ("empty" if pw == "" else "has a password")
        if pw == "":
            empty.append(user)
    if root_state is None:
        c.status, c.evidence = "warn", ["no root entry in /etc/shadow"]
        return c
    c.evidence.append(f"root: {root_state}")
    if empty:
        c.evidence.append(f"accounts with an empty password: {', '.join(empty)}")
    if root_state != "locked" or empty:
        c.status = "fail"
        c.fix = "`passwd -l root`" + (f"; `passwd -l {' '.join(empty)}` (or set passwords)" if empty else "")
    return c


def _host_keys(r: _Root) -> Check:
    c = Check("ssh-host-keys", 4, "no SSH host keys in /etc/ssh")
    keys = r.glob("/etc/ssh/ssh_host_*") + [p for p in ("/etc/ssh/ssh_host_key",) if r.exists(p)]
    keys = sorted(set(keys))
    if keys:
        c.status, c.evidence = "fail", keys
        c.fix = ("`shred -u /etc/ssh/ssh_host_*` (python3 -m scrub shred -u ...): cloud-init regenerates host keys at "
                 "first boot (ssh_deletekeys, on by default), as do sshd-keygen units.")
    else:
        c.evidence = ["none"]
    return c


def _keys_at_boot(r: _Root, cfg: sshd.SshdConfig) -> Check:
    c = Check("keys-at-boot", 5, "public keys are installed at boot")
    ways = []
    cloud = _cloud_cfg(r)
    installed = any(r.exists(p) for p in ("/usr/bin/cloud-init", "/usr/local/bin/cloud-init"))
    if cloud and installed and re.search(r"(?m)^\s*-\s*(ssh|\[\s*ssh\b)", cloud) and not r.exists("/etc/cloud/cloud-init.disabled"):
        ways.append("cloud-init with its ssh module")
    scripts = (["/etc/rc.local", "/etc/rc.d/rc.local"] + r.glob("/etc/systemd/system/*.service") + r.glob("/etc/init.d/*")
               + r.glob("/var/lib/cloud/scripts/per-boot/*"))
    for path in scripts:
        text = r.text(path)
        if "169.254.169.254" in text and "public-keys" in text:
            ways.append(f"{path} fetches the key from instance metadata")
    akc, _ = cfg.value("AuthorizedKeysCommand")
    if "eic_run_authorized_keys" in akc:
        ways.append("EC2 Instance Connect (AuthorizedKeysCommand)")
    if ways:
        c.evidence = ways
    else:
        c.status = "fail"
        c.evidence = ["no cloud-init ssh module, no boot script fetching public-keys from instance metadata"]
        c.fix = ("Install cloud-init (its ssh module installs the launch key pair), or a boot script that fetches "
                 "http://169.254.169.254/latest/meta-data/public-keys/0/openssh-key into ~/.ssh/authorized_keys.")
    return c


def _use_dns(cfg: sshd.SshdConfig) -> Check:
    c = Check("ssh-usedns", 6, "UseDNS no (optional)")
    if not cfg.found:
        c.status, c.evidence = "info", ["no sshd configuration"]
        return c
    value, where = cfg.value("UseDNS")
    c.evidence = [f"UseDNS {value} ({where})"]
    if value.lower() != "no":
        c.status, c.fix = "info", "`UseDNS no` in /etc/ssh/sshd_config avoids slow logins where DNS is unreachable."
    return c


def _paths_check(cid: str, number: int, title: str, findings, fix: str, status: str = "fail") -> Check:
    c = Check(cid, number, title)
    if findings:
        c.status = status
        c.evidence = [f"{display(f.path)} ({f.user}: {f.evidence})" for f in findings]
        c.fix = fix
    else:
        c.evidence = ["none"]
    return c


def _storage(root: bytes) -> Check:
    from scrub.storage import inspect

    c = Check("storage", 10, "what the storage under the root keeps after an overwrite")
    report = inspect(root)
    worst = report.worst
    interesting = [f for f in report.findings if f.severity in ("ineffective", "uncertain", "mitigated")]
    c.evidence = [f"[{f.severity}] {f.id}: {f.summary}" for f in interesting] or [
        f"{report.fstype} on {report.mount.source if report.mount else '?'}: overwrites reach the data in place"]
    if worst == "ineffective":
        c.status = "fail"
    elif worst == "uncertain":
        c.status = "warn"
    if interesting:
        c.fix = " ".join(dict.fromkeys(f.remedy for f in interesting if f.severity != "mitigated"))
    return c


def _identity(r: _Root) -> Check:
    c = Check("identity", 11, "no machine identity left over")
    mid = r.text("/etc/machine-id").strip()
    if mid and mid != "uninitialized":
        c.evidence.append("/etc/machine-id is set (every instance would share it)")
    dbus = r.text("/var/lib/dbus/machine-id").strip()
    if dbus and dbus != mid:
        c.evidence.append("/var/lib/dbus/machine-id is set")
    if r.exists("/var/lib/cloud/instance") or r.glob("/var/lib/cloud/instances/*"):
        c.evidence.append("/var/lib/cloud holds instance state from this build")
    for seed in ("/var/lib/systemd/random-seed", "/var/lib/urandom/random-seed"):
        if r.exists(seed):
            c.evidence.append(f"{seed} exists (instances would start from the same seed)")
    if c.evidence:
        c.status = "warn"
        c.fix = ("`cloud-init clean --logs --machine-id` (writes `uninitialized` under systemd, clears /var/lib/cloud); "
                 "`rm -f /var/lib/systemd/random-seed`; `truncate -s 0 /var/lib/dbus/machine-id` or link it to /etc/machine-id.")
    else:
        c.evidence = ["none"]
    return c


def audit(root: str | bytes = "/") -> AuditReport:
    """Run every check on ``root``; read-only."""
    from scrub.discover import scan

    root_b = os.fsencode(root)
    report = AuditReport(root_b)
    r = _Root(root_b)
    try:
        cfg = sshd.parse(root_b)
        found = scan(root_b)
        report.errors += [f"{display(p)}: {m}" for p, m in found.errors]
        history_ids = {e.id for e in catalog.HISTORIES}
        counted = found.counted()
        histories = [f for f in counted if f.catalog_id in history_ids]
        grants = [f for f in counted if f.catalog_id == "ssh-authorized-keys"]
        bundling = [f for f in counted if f.catalog_id in ("ec2-bundle-key", "ec2-bundle-cert", "ec2-bundle-key-system")]
        on_volume = [f for f in bundling if not f.path.startswith(b"/mnt/")]
        # ec2-bundle-vol leaves /mnt (instance store) out of the bundle: the pair belongs there
        secrets = [f for f in counted if f.cls == "secret" and f.catalog_id not in history_ids
                   and f.catalog_id != "ssh-host-keys"  # check 4's
                   and not (f in bundling and f not in on_volume)]
        report.checks = [
            _tools_at_boot(r),
            _ssh_root_login(cfg),
            _root_locked(r),
            _host_keys(r),
            _keys_at_boot(r, cfg),
            _use_dns(cfg),
            _paths_check("authorized-keys", 7, "no authorized_keys in any home", grants,
                         "Remove them (`python3 -m scrub shred -u PATH`); keys are installed at boot (check 5)."),
            _paths_check("histories", 8, "no shell or application histories", histories,
                         "As the very last step: `exec python3 -m scrub histories`, then `python3 -m scrub histories --check`."),
            _paths_check("credentials", 9, "no credential stashes; the bundling key and certificate are off the volume",
                         secrets, "Erase them (`python3 -m scrub shred -u PATH`) or exclude them from the bundle "
                         "(`python3 -m scrub manifest`); keep pk-*.pem/cert-*.pem on instance store (/mnt)."
                         + (" The bundling key or certificate is on the volume being bundled: "
                            + ", ".join(display(f.path) for f in on_volume) if on_volume else "")),
            _storage(root_b),
            _identity(r),
        ]
    finally:
        r.close()
    return report
