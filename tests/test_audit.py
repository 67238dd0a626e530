"""audit: a clean root passes, a root breaking one guideline fails exactly that check with the
right evidence, and the audit changes nothing."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from scrub.audit import audit
from scrub.cli import main


def clean_root(tmp: Path) -> Path:
    r = tmp / "img"
    files = {
        "etc/passwd": "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
        "etc/shadow": "root:!:19000:0:99999:7:::\nalice:*:19000:0:99999:7:::\n",
        "etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin prohibit-password\n"
                               "PasswordAuthentication no\nUseDNS no\n",
        "etc/cloud/cloud.cfg": "package_update: true\ncloud_init_modules:\n - seed_random\n - ssh\n",
        "usr/bin/cloud-init": "#!/bin/sh\n",
        "etc/machine-id": "uninitialized\n",
        "home/alice/notes.txt": "hello\n",
        "root/.profile": "PATH=$PATH\n",
    }
    for rel, text in files.items():
        p = r / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (r / "etc/ssh/sshd_config.d").mkdir()
    return r


def statuses(report) -> dict:
    return {c.id: c.status for c in report.checks}


def test_clean_root_passes(tmp_path):
    report = audit(clean_root(tmp_path))
    got = statuses(report)
    assert len(report.checks) == 11 and [c.number for c in report.checks] == list(range(1, 12))
    storage = got.pop("storage")  # depends on the disk under the test (a virtio disk here: uncertain)
    assert storage in ("pass", "warn")
    assert set(got.values()) == {"pass"}, got
    assert not report.failed


def _append(path: Path, text: str) -> None:
    path.write_text(text + path.read_text())


BREAKERS = {
    "tools-at-boot": (lambda r: (r / "etc/cloud/cloud.cfg").write_text("cloud_init_modules:\n - ssh\n"), "info",
                      "no update at boot"),
    "ssh-root-login": (lambda r: _append(r / "etc/ssh/sshd_config", "PermitRootLogin yes\n"), "fail", "PermitRootLogin yes"),
    "root-locked": (lambda r: (r / "etc/shadow").write_text("root:$6$salt$hashhash:19000::::::\nalice::19000::::::\n"),
                    "fail", "root: has a password"),
    "ssh-host-keys": (lambda r: (r / "etc/ssh/ssh_host_ed25519_key").write_text("x"), "fail", "/etc/ssh/ssh_host_ed25519_key"),
    "keys-at-boot": (lambda r: (r / "usr/bin/cloud-init").unlink(), "fail", "no cloud-init ssh module"),
    "ssh-usedns": (lambda r: _append(r / "etc/ssh/sshd_config", "UseDNS yes\n"), "info", "UseDNS yes"),
    "authorized-keys": (lambda r: _write(r / "home/alice/.ssh/authorized_keys", "ssh-ed25519 AAAAC3 alice\n"), "fail",
                        "/home/alice/.ssh/authorized_keys"),
    "histories": (lambda r: _write(r / "root/.bash_history", "ls\n"), "fail", "/root/.bash_history"),
    "credentials": (lambda r: _write(r / "home/alice/.aws/credentials", "[default]\naws_access_key_id = AKIAQWERTYUIOPASDFGH\n"),
                    "fail", "/home/alice/.aws/credentials"),
    "identity": (lambda r: (r / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n"), "warn",
                 "/etc/machine-id is set"),
}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize("check_id", list(BREAKERS))
def test_each_broken_guideline_fails_exactly_its_check(tmp_path, check_id):
    root = clean_root(tmp_path)
    base = statuses(audit(root))
    mutate, want, evidence = BREAKERS[check_id]
    mutate(root)
    report = audit(root)
    got = statuses(report)
    assert got[check_id] == want
    check = next(c for c in report.checks if c.id == check_id)
    assert any(evidence in e for e in check.evidence), check.evidence
    assert check.fix
    assert {k: v for k, v in got.items() if k != check_id} == {k: v for k, v in base.items() if k != check_id}


def test_empty_password_and_match_override_and_bundling_key(tmp_path):
    root = clean_root(tmp_path)
    (root / "etc/shadow").write_text("root:!:19000::::::\nbob::19000::::::\n")
    key = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    _write(root / "root/cert-ABC.pem", key)
    _write(root / "mnt/cert-DEF.pem", key)
    report = audit(root)
    got = {c.id: c for c in report.checks}
    assert got["root-locked"].status == "fail" and any("bob" in e for e in got["root-locked"].evidence)
    assert "$6$" not in json.dumps(report.to_json())
    assert got["credentials"].status == "fail" and "on the volume being bundled: /root/cert-ABC.pem" in got["credentials"].fix
    assert not any("/mnt/cert-DEF.pem" in e for e in got["credentials"].evidence)


def test_sshd_match_block_override_fails(tmp_path):
    root = clean_root(tmp_path)
    with open(root / "etc/ssh/sshd_config", "a") as f:
        f.write("Match User deploy\n  PasswordAuthentication yes\n")
    check = next(c for c in audit(root).checks if c.id == "ssh-root-login")
    assert check.status == "fail" and any(e.startswith("Match User deploy") for e in check.evidence)


def test_storage_check_fails_on_copy_on_write(lab, tmp_path):
    mnt, _ = lab.fs("audit", "btrfs")
    src = clean_root(tmp_path)
    os.system(f"cp -a {src}/. {mnt}/")
    check = next(c for c in audit(mnt).checks if c.id == "storage")
    assert check.status == "fail" and any("btrfs-cow" in e for e in check.evidence)


def _snapshot(root: Path) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            st = p.lstat()
            out[str(p)] = (st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns,
                           p.read_bytes() if stat.S_ISREG(st.st_mode) else None)
    return out


def test_audit_is_read_only_and_the_cli(tmp_path, capsys):
    root = clean_root(tmp_path)
    _write(root / "root/.bash_history", "ls\n")
    before = _snapshot(root)
    assert main(["audit", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "[fail] histories" in out and "fix:" in out and "summary:" in out
    assert main(["audit", "--root", str(root), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["data"]["summary"]["fail"] == 1 and len(doc["data"]["checks"]) == 11
    assert main(["audit", "--root", str(root), "--exit-zero"]) == 0
    assert main(["audit", "--root", str(tmp_path / "missing")]) == 2
    assert _snapshot(root) == before
