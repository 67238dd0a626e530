"""scan(): users from passwd, XDG and variable overrides, hostile trees, --deep, outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from scrub.cli import main
from scrub.discover import scan
from test_catalog import synthetic_private_key

PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/bash
bob:x:1001:1001::/home/bob:/usr/bin/zsh
pgsvc:x:110:110:svc:/var/lib/pgsvc:/bin/bash
ghost:x:1002:1002::/home/ghost:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
"""


def make_root(tmp: Path) -> Path:
    root = tmp / "root"
    for d in ("etc", "root", "home/alice", "home/bob", "var/lib/pgsvc", "usr/sbin"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "etc/passwd").write_text(PASSWD)
    (root / "etc/shadow").write_text("root:$6$salt$hash:19000:0:99999:7:::\n")
    return root


def paths(report) -> dict:
    return {f.path: f for f in report.findings}


def test_users_homes_from_passwd(tmp_path):
    root = make_root(tmp_path)
    (root / "root/.bash_history").write_text("whoami\n")
    (root / "var/lib/pgsvc/.psql_history").write_text("select 1;\n")
    (root / "usr/sbin/.bash_history").write_text("not a home\n")
    report = scan(root)
    assert [u.name for u in report.users] == ["root", "alice", "bob", "pgsvc"]  # ghost has no home, daemon/nobody system
    found = paths(report)
    assert found[b"/root/.bash_history"].user == "root"
    assert found[b"/var/lib/pgsvc/.psql_history"].user == "pgsvc" and found[b"/var/lib/pgsvc/.psql_history"].catalog_id == "psql"
    assert b"/usr/sbin/.bash_history" not in found


def test_empty_history_is_not_a_finding(tmp_path):
    root = make_root(tmp_path)
    (root / "home/alice/.bash_history").write_text("")
    assert not scan(root).counted()


def test_xdg_and_variables_read_statically(tmp_path):
    root = make_root(tmp_path)
    (root / "home/alice/.profile").write_text('export XDG_DATA_HOME="$HOME/data"\nexport HISTFILE=~/logs/bash.hist\n'
                                              'LESSHISTFILE=-\n')
    (root / "home/alice/data/fish").mkdir(parents=True)
    (root / "home/alice/data/fish/fish_history").write_text("- cmd: ls\n")
    (root / "home/alice/logs").mkdir()
    (root / "home/alice/logs/bash.hist").write_text("ls\n")
    os.chown(root / "home/alice/logs/bash.hist", 1000, 1000)  # a variable's say-so reaches only what alice owns
    (root / "etc/environment").write_text("PSQL_HISTORY=/var/log/psql/history\n")
    (root / "var/log/psql").mkdir(parents=True)
    (root / "var/log/psql/history").write_text("select 1;\n")
    found = paths(scan(root))
    assert found[b"/home/alice/data/fish/fish_history"].catalog_id == "fish"
    assert found[b"/home/alice/logs/bash.hist"].catalog_id == "bash"
    assert found[b"/var/log/psql/history"].catalog_id == "psql"


def test_symlinked_history_is_reported_never_followed(tmp_path):
    root = make_root(tmp_path)
    (root / "home/alice/.bash_history").symlink_to("/etc/shadow")
    (root / "home/bob/.zsh_history").symlink_to("/dev/null")
    report = scan(root)
    found = paths(report)
    link = found[b"/home/alice/.bash_history"]
    assert link.kind == "symlink" and link.link_target == b"/etc/shadow" and not link.benign
    disabled = found[b"/home/bob/.zsh_history"]
    assert disabled.benign and disabled not in report.counted()
    text = json.dumps(report.to_json())
    assert "$6$salt$hash" not in text  # the target was never read
    assert (root / "etc/shadow").read_text().startswith("root:$6$salt$hash")


def test_directory_symlink_out_of_the_root_is_not_entered(tmp_path):
    root = make_root(tmp_path)
    outside = tmp_path / "outside"
    (outside / ".ssh").mkdir(parents=True)
    (outside / ".ssh/id_ed25519").write_text(synthetic_private_key())
    (root / "home/alice/escape").symlink_to(outside)
    (root / "home/alice/.ssh").symlink_to(outside / ".ssh")
    report = scan(root, deep=True)
    assert not any(b"id_ed25519" in f.path or f.path.startswith(b"/home/alice/escape/") for f in report.findings)
    assert report.entries < 20  # nothing behind the links was walked


def test_home_symlink_resolves_inside_the_root(tmp_path):
    """An image whose /home is an absolute symlink to /data/home: resolved as if chrooted."""
    root = tmp_path / "img"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("carol:x:1000:1000::/home/carol:/bin/bash\n")
    (root / "data/home/carol").mkdir(parents=True)
    (root / "data/home/carol/.bash_history").write_text("ls\n")
    (root / "home").symlink_to("/data/home")
    found = paths(scan(root))
    assert b"/data/home/carol/.bash_history" in found  # the path a bundler walking the root sees


def test_fifo_named_like_a_key_is_skipped_without_hanging(tmp_path):
    root = make_root(tmp_path)
    (root / "home/alice/.ssh").mkdir()
    os.mkfifo(root / "home/alice/.ssh/id_rsa")
    os.mkfifo(root / "home/alice/deep.pem")
    proc = subprocess.run([sys.executable, "-m", "scrub", "scan", "--json", "--deep", "--root", str(root)],
                          capture_output=True, text=True, timeout=60)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0 and doc["data"]["findings"] == []
    assert any(s["path"].endswith("/.ssh/id_rsa") for s in doc["data"]["skipped"])


def test_unreadable_directory_is_reported_not_fatal(tmp_path, monkeypatch):
    root = make_root(tmp_path)
    (root / "home/alice/private").mkdir()
    (root / "home/bob/.bash_history").write_text("ls\n")
    real_scandir = os.scandir

    def scandir(fd):
        if isinstance(fd, int) and os.path.basename(os.readlink(f"/proc/self/fd/{fd}")) == "private":
            raise PermissionError(13, "Permission denied")
        return real_scandir(fd)
    monkeypatch.setattr(os, "scandir", scandir)
    report = scan(root)
    assert report.partial and b"/home/alice/private" in [p for p, _ in report.errors]
    assert b"/home/bob/.bash_history" in paths(report)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.binary(min_size=1, max_size=40).filter(lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..")))
def test_any_name_round_trips(tmp_path, name):
    root = tmp_path / "r"
    if not root.exists():
        (root / "etc").mkdir(parents=True)
        (root / "etc/passwd").write_text("alice:x:1000:1000::/home/alice:/bin/bash\n")
        (root / "home/alice").mkdir(parents=True)
    d = os.fsencode(root / "home/alice") + b"/"
    with open(d + name + b".pem", "wb") as fh:
        fh.write(synthetic_private_key().encode())
    try:
        found = paths(scan(root))
        assert b"/home/alice/" + name + b".pem" in found
        doc = found[b"/home/alice/" + name + b".pem"].to_json()
        from scrub._paths import from_json

        assert from_json(doc) == b"/home/alice/" + name + b".pem"
    finally:
        os.unlink(d + name + b".pem")


def test_deep_finds_keys_anywhere_and_default_reads_only_catalog_files(tmp_path):
    root = make_root(tmp_path)
    (root / "srv/app/conf").mkdir(parents=True)
    (root / "srv/app/conf/signing").write_text(synthetic_private_key())
    (root / "home/alice/notes.txt").write_text("token = ghp_" + "a1B2" * 9 + "\n")
    shallow = scan(root)
    assert shallow.classified == 0 and not shallow.counted()
    deep = paths(scan(root, deep=True))
    assert deep[b"/srv/app/conf/signing"].catalog_id is None and deep[b"/srv/app/conf/signing"].user == "system"
    assert deep[b"/home/alice/notes.txt"].user == "alice"


def test_cli_exit_codes_json_and_sarif(tmp_path, capsys):
    root = make_root(tmp_path)
    assert main(["scan", "--root", str(root)]) == 0
    (root / "home/alice/.ssh").mkdir()
    key = synthetic_private_key()
    (root / "home/alice/.ssh/id_ed25519").write_text(key)
    (root / "home/alice/.bash_history").write_text("ls\n")
    capsys.readouterr()
    assert main(["scan", "--root", str(root), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["data"]["summary"]["by_class"] == {"history": 1, "secret": 1}
    body = key.splitlines()[1]
    assert main(["scan", "--root", str(root), "--sarif"]) == 1
    sarif_text = capsys.readouterr().out
    sarif = json.loads(sarif_text)
    assert sarif["version"] == "2.1.0" and len(sarif["runs"][0]["results"]) == 2
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {"bash", "ssh-private-key"}
    assert body[:30] not in sarif_text and body[:30] not in json.dumps(doc)
    assert main(["scan", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "alice" in out and "history (1)" in out and "secret (1)" in out
    assert main(["scan", "--root", str(tmp_path / "missing")]) == 2


def test_fingerprints_are_stable_and_distinct(tmp_path):
    root = make_root(tmp_path)
    for name in (".bash_history", ".python_history"):
        (root / "home/alice" / name).write_text("x\n")
    a = [f.fingerprint for f in scan(root).findings]
    b = [f.fingerprint for f in scan(root).findings]
    assert a == b and len(set(a)) == len(a)
