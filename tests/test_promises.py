"""What new users and importers rely on: no collateral damage, no false assurance, typed errors.
Each test here failed on main before the fix it names (issue 11)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import scrub
from scrub.cli import main
from scrub.discover import catalog, scan
from scrub.manifest import manifest

PASSWD = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"


def fake_root(tmp: Path, passwd: str = PASSWD) -> Path:
    root = tmp / "root"
    for d in ("etc", "root", "home/alice"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "etc/passwd").write_text(passwd)
    return root


# ---------------------------------------------------------------------------------------
# 1. one path is one path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(alphabet="abcdefs.-_ ", min_size=2, max_size=12).filter(lambda n: n.strip(". ") and "/" not in n),
       kind=st.sampled_from(["str", "bytes", "path"]))
def test_a_single_path_touches_that_path_only(tmp_path_factory, name, kind):
    work = tmp_path_factory.mktemp("one")
    letters = {c for c in name if c not in "/."}
    for c in letters:  # one-letter files that iterating the string would name
        (work / c).write_bytes(b"keep " + c.encode())
    target = work / name
    target.write_bytes(b"secret" * 100)
    arg = {"str": str(target), "bytes": os.fsencode(target), "path": target}[kind]
    old = os.getcwd()
    os.chdir(work)
    try:
        results = scrub.shred(arg, engine="python", remove="unlink")
    finally:
        os.chdir(old)
    assert len(results) == 1 and results[0].ok
    assert not target.exists()
    for c in letters:
        if c != name:
            assert (work / c).read_bytes() == b"keep " + c.encode()


def test_collections_are_checked(tmp_path):
    root = fake_root(tmp_path)
    with pytest.raises(TypeError):
        scrub.shred(42)
    with pytest.raises(TypeError):
        scrub.shred([b"ok", 3])
    with pytest.raises(TypeError):
        manifest(root, "json", classes="secret")
    with pytest.raises(TypeError):
        scan(root, classes="secret")
    with pytest.raises(scrub.UsageError):
        scan(root, classes=["secrets"])
    (root / "etc/x").write_text("x")
    em = manifest(root, "json", add="/etc/x")  # one path, not '/', 'e', 't', 'c' ...
    doc = json.loads(em.data)
    assert [e["path"] for e in doc["entries"]] == ["/etc/x"]
    with pytest.raises(TypeError):
        scrub.Shredder().path(["/etc/x"])


# ---------------------------------------------------------------------------------------
# 3. histories never erases programs: every directory-scoped history entry against its layout

LAYOUTS = {  # entry id: (history files erased, neighbours that are code or configuration and stay)
    "hishtory": ([".hishtory/.hishtory.db"], [".hishtory/hishtory", ".hishtory/config.sh", ".hishtory/config.zsh",
                                              ".hishtory/config.fish", ".hishtory/.hishtory.config"]),
    "xonsh": ([".local/share/xonsh/history_json/1.json", ".local/share/xonsh/xonsh-history.sqlite"],
              [".config/xonsh/rc.xsh", ".local/share/xonsh/xontribs.json"]),
    "zsh-sessions": ([".zsh_sessions/A1.history", ".zsh_sessions/A1.session"], [".zshrc"]),
    "erlang": ([".cache/erlang-history/erlang-shell-log.1", ".cache/erlang-history/erlang-shell-log.idx"],
               [".erlang", ".cache/rebar3/config"]),
    "gcloud-logs": ([".config/gcloud/logs/2026.12.01/10.00.00.000000.log"],
                    [".config/gcloud/configurations/config_default", ".config/gcloud/active_config"]),
    "azure-commands": ([".azure/commands/2026-12-01.10-00-00.login.123.log"], [".azure/config", ".azure/azureProfile.json"]),
    "claude-code": ([".claude/projects/-home-alice/s.jsonl", ".claude/file-history/s/f", ".claude/shell-snapshots/snap.sh"],
                    [".claude/settings.json", ".claude/CLAUDE.md", ".claude/agents/a.md", ".claude.json"]),
}


def test_every_directory_scoped_history_entry_has_a_layout_test():
    scoped = {e.id for e in catalog.HISTORIES if e.directory} | {"hishtory"}
    assert scoped <= set(LAYOUTS), f"no layout test for {scoped - set(LAYOUTS)}"


@pytest.mark.parametrize("entry_id", sorted(LAYOUTS))
def test_histories_erases_history_files_not_the_application(tmp_path, capsys, entry_id):
    root = fake_root(tmp_path)
    home = root / "home/alice"
    erased, kept = LAYOUTS[entry_id]
    for rel in erased + kept:
        p = home / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"content of {rel}\n")
    code = main(["histories", "--root", str(root), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0, doc
    for rel in erased:
        assert not (home / rel).exists(), f"{entry_id}: {rel} is history and was left"
    for rel in kept:
        assert (home / rel).read_text() == f"content of {rel}\n", f"{entry_id}: {rel} is not history and was erased"


# ---------------------------------------------------------------------------------------
# 5. an empty or unmounted root never passes


@pytest.mark.parametrize("cmd", [["histories", "--check"], ["histories", "--dry-run"], ["scan"], ["audit"],
                                 ["manifest", "--format", "json"]])
def test_a_root_without_passwd_is_not_a_system(tmp_path, capsys, cmd):
    empty = tmp_path / "mnt"
    empty.mkdir()
    code = main([*cmd, "--root", str(empty)])
    err = capsys.readouterr().err
    assert code == 2 and "not a system root (no etc/passwd)" in err


def test_a_missing_root_is_typed(tmp_path):
    with pytest.raises(scrub.RootNotFound) as info:
        scan(tmp_path / "nope")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, scrub.ScrubError)
    with pytest.raises(scrub.NotASystemRoot):
        scrub.histories.check(tmp_path)


def test_a_missing_home_fails_the_check(tmp_path, capsys):
    root = fake_root(tmp_path, PASSWD + "bob:x:1001:1001::/home/bob:/bin/bash\n")
    code = main(["histories", "--root", str(root), "--check"])
    err = capsys.readouterr().err
    assert code == 1 and "home of bob missing: is /home mounted?" in err


def test_audit_says_missing_not_unreadable(tmp_path, capsys):
    root = fake_root(tmp_path)
    main(["audit", "--root", str(root), "--json"])
    doc = json.loads(capsys.readouterr().out)
    check = next(c for c in doc["data"]["checks"] if c["id"] == "root-locked")
    assert "/etc/shadow is missing" in " ".join(check["evidence"])


# ---------------------------------------------------------------------------------------
# 6. manifests that would exclude nothing


@pytest.mark.parametrize("add,why", [("../../etc/shadow", "without '..'"), ("/etc/../../shadow", "without '..'"),
                                     ("/etc/nothing", "does not exist"), ("{root}/etc/shadow", "root's own prefix")])
def test_add_outside_missing_or_prefixed_is_refused(tmp_path, capsys, add, why):
    root = fake_root(tmp_path)
    (root / "etc/shadow").write_text("x")
    code = main(["manifest", "--root", str(root), "--format", "rsync", "--add", add.format(root=root)])
    captured = capsys.readouterr()
    assert code == 1 and why in captured.err
    assert b"shadow" not in captured.out.encode()


def test_class_means_only_these_classes_in_scan_and_manifest(tmp_path, capsys):
    root = fake_root(tmp_path)
    (root / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    (root / "home/alice/.bash_history").write_text("ls\n")
    assert main(["manifest", "--root", str(root), "--format", "json", "--class", "identity"]) == 0
    paths = [e["path"] for e in json.loads(capsys.readouterr().out)["data"]["entries"]]
    assert paths == ["/etc/machine-id"]
    main(["scan", "--root", str(root), "--class", "identity", "--json"])
    found = [f["path"] for f in json.loads(capsys.readouterr().out)["data"]["findings"]]
    assert found == ["/etc/machine-id"]


# ---------------------------------------------------------------------------------------
# 7. a dry run says what it would do; 8. no traceback from the clone's parent


def test_dry_run_says_what_it_would_do(tmp_path, capsys):
    root = fake_root(tmp_path)
    (root / "home/alice/.bash_history").write_text("ls\n")
    (root / "home/alice/.zsh_history").symlink_to("/dev/null")
    assert main(["histories", "--root", str(root), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "summary: 1 to erase, 1 to skip of 2" in out and "planned" not in out and "1 done" not in out
    assert (root / "home/alice/.bash_history").read_text() == "ls\n"
    assert main(["histories", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "alice: 1 erased (3 bytes)" in out


def test_no_traceback_when_the_clone_shadows_the_package(tmp_path):
    import subprocess
    import sys

    (tmp_path / "scrub").symlink_to(Path(__file__).resolve().parent.parent)  # the clone, named like the package
    proc = subprocess.run([sys.executable, "-m", "scrub", "info"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr and proc.stdout.startswith("scrub ")


def test_histories_never_suggests_a_flag_it_does_not_take(tmp_path, capsys):
    root = fake_root(tmp_path)
    os.link(root / "etc/passwd", root / "home/alice/.bash_history")
    main(["histories", "--root", str(root)])
    captured = capsys.readouterr()
    assert "hard links" in captured.out and "--allow-hardlinks" not in captured.out + captured.err


def test_without_a_compiler_the_install_works_and_info_says_why(tmp_path):
    """A venv whose gcc exits 127: pip install succeeds, scrub runs on the Python engine and
    `info` says in plain words that the C extension was not built (not a circular import)."""
    import shutil
    import subprocess
    import sys

    src = Path(__file__).resolve().parent.parent
    fake = tmp_path / "bin"
    fake.mkdir()
    for cc in ("gcc", "cc", "x86_64-linux-gnu-gcc", "aarch64-linux-gnu-gcc"):
        (fake / cc).write_text("#!/bin/sh\nexit 127\n")
        (fake / cc).chmod(0o755)
    copy = tmp_path / "src"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns(".venv", ".git", "*.so", "build", "dist", "*.egg-info",
                                                             "__pycache__", ".hypothesis", ".pytest_cache"))
    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "CC": str(fake / "gcc")}
    proc = subprocess.run([str(venv / "bin/pip"), "install", "-q", str(copy)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = subprocess.run([str(venv / "bin/python"), "-I", "-m", "scrub", "info"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert info.returncode == 0, info.stderr
    assert "python fallback" in info.stdout and "the C extension was not built" in info.stdout
    assert "circular" not in info.stdout


def test_storage_inspect_of_a_missing_path_reports_the_error(tmp_path):
    report = scrub.storage.inspect(tmp_path / "missing")
    assert report.errors == ["No such file or directory"] and report.findings == [] and report.worst is None
