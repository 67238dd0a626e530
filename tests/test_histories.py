"""python3 -m scrub histories: every history of every user erased, nothing else changed,
hostile entries handled, live writers named, the exec recipe, the raw-image proof."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import select
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest


import lab as L
from scrub.cli import main
from scrub.histories import check, histories

PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/bash
bob:x:1001:1001::/home/bob:/usr/bin/zsh
pgsvc:x:110:110:svc:/var/lib/pgsvc:/bin/bash
"""

HISTORIES = {  # path -> owner uid
    "root/.bash_history": 0, "root/.python_history": 0, "root/.lesshst": 0,
    "home/alice/.bash_history": 1000, "home/alice/.local/share/fish/fish_history": 1000, "home/alice/.viminfo": 1000,
    "home/alice/.local/state/nvim/shada/main.shada": 1000, "home/alice/.mysql_history": 1000,
    "home/alice/.node_repl_history": 1000, "home/alice/.wget-hsts": 1000, "home/alice/.ipython/profile_default/history.sqlite": 1000,
    "home/alice/.bash_history-12345.tmp": 1000, "home/bob/.zsh_history": 1001, "home/bob/.config/nushell/history.txt": 1001,
    "var/lib/pgsvc/.psql_history": 110, "var/lib/pgsvc/.sqlite_history": 110,
}
OTHER = {  # files that must not change
    "etc/shadow": "root:$6$x$y:19000::::::\n", "home/alice/notes.txt": "keep me\n", "home/alice/.bashrc": "alias ll='ls -l'\n",
    "home/bob/project/history.md": "# project history (not a shell history)\n", "var/lib/pgsvc/data/PG_VERSION": "15\n",
}


def make_root(tmp: Path) -> Path:
    root = tmp / "root"
    for d in ("etc", "root", "home/alice", "home/bob", "var/lib/pgsvc", "usr/sbin"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "etc/passwd").write_text(PASSWD)
    for rel, uid in HISTORIES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"secret command of {rel}\n" * 20)
        os.chown(p, uid, uid)
    for rel, text in OTHER.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def manifest(root: Path, skip: set[str]) -> dict:
    """Every entry but the history files: type, mode, owner, content hash or link target."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if rel in skip:
                continue
            st = p.lstat()
            if stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", st.st_mode, st.st_uid)
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", st.st_mode, st.st_uid, hashlib.sha256(p.read_bytes()).hexdigest())
            else:
                out[rel] = ("special", st.st_mode)
    return out


def test_every_history_erased_nothing_else_changed(tmp_path):
    root = make_root(tmp_path)
    outside = tmp_path / "outside-target"
    outside.write_text("not a history\n")
    (root / "home/alice/.python_history").symlink_to(outside)  # a link out of the home
    (root / "home/bob/.bash_history").symlink_to("/dev/null")  # history switched off
    os.link(root / "home/bob/project/history.md", root / "home/bob/.psql_history")  # a hard link
    os.mkfifo(root / "var/lib/pgsvc/.mysql_history")  # a FIFO where a history should be
    weird = os.fsencode(root / "home/alice") + b"/.\xff\xfe_history"  # a non-UTF-8 name
    with open(weird, "wb") as fh:
        fh.write(b"secret command\n")
    os.chown(weird, 1000, 1000)
    (root / "home/alice/.rediscli_history").write_text("AUTH secret\n")  # not owned by alice or root
    os.chown(root / "home/alice/.rediscli_history", 4242, 4242)
    skip = set(HISTORIES) | {"home/alice/.python_history", "home/alice/.rediscli_history",
                             os.fsdecode(b"home/alice/.\xff\xfe_history")}
    before = manifest(root, skip | {"home/bob/.psql_history", "home/bob/project/history.md"})

    report = histories(root, writers=False)
    by_path = {i.path: i for i in report.items}

    for rel in HISTORIES:
        assert not (root / rel).exists(), f"{rel} still there"
        assert by_path[b"/" + rel.encode()].status == "done"
    assert not os.path.lexists(weird) and by_path[b"/home/alice/.\xff\xfe_history"].status == "done"
    link = by_path[b"/home/alice/.python_history"]
    assert link.action == "remove-link" and link.status == "done" and not (root / "home/alice/.python_history").exists()
    assert outside.read_text() == "not a history\n"
    assert by_path[b"/home/bob/.bash_history"].action == "keep-link" and os.readlink(root / "home/bob/.bash_history") == "/dev/null"
    hard = by_path[b"/home/bob/.psql_history"]
    assert hard.status == "refused" and "2 hard links" in hard.reason
    assert (root / "home/bob/project/history.md").read_text().startswith("# project history")
    foreign = by_path[b"/home/alice/.rediscli_history"]
    assert foreign.status == "refused" and "uid 4242" in foreign.reason
    fifo = by_path[b"/var/lib/pgsvc/.mysql_history"]
    assert fifo.status == "skipped" and stat.S_ISFIFO((root / "var/lib/pgsvc/.mysql_history").lstat().st_mode)
    assert manifest(root, skip | {"home/bob/.psql_history", "home/bob/project/history.md"}) == before
    # and what is left is exactly what was refused, each with its reason
    left = check(root)
    assert {i.path for i in left.remaining} == {b"/home/bob/.psql_history", b"/home/alice/.rediscli_history"}


def test_dry_run_changes_nothing_and_check_passes_after_the_run(tmp_path, capsys):
    root = make_root(tmp_path)
    before = manifest(root, set())
    assert main(["histories", "--root", str(root), "--dry-run"]) == 0
    assert manifest(root, set()) == before
    assert "would erase" in capsys.readouterr().out
    assert main(["histories", "--root", str(root), "--check"]) == 1
    assert "still there" in capsys.readouterr().out
    assert main(["histories", "--root", str(root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["data"]["remaining"] == 0 and all(i["status"] == "done" for i in doc["data"]["items"])
    assert main(["histories", "--root", str(root), "--check"]) == 0


def test_truncate_keeps_owner_mode_and_xattrs(tmp_path):
    root = make_root(tmp_path)
    p = root / "home/alice/.bash_history"
    os.chmod(p, 0o600)
    os.setxattr(p, "user.scrub-test", b"keep")
    report = histories(root, truncate=True, writers=False)
    assert all(i.status == "done" for i in report.items if i.path == b"/home/alice/.bash_history")
    st = p.stat()
    assert st.st_size == 0 and st.st_uid == 1000 and stat.S_IMODE(st.st_mode) == 0o600
    assert os.getxattr(p, "user.scrub-test") == b"keep"
    assert not check(root).remaining


def _spawn_shell(env: dict, argv=("bash", "--norc", "--noprofile", "-i")):
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - child
        os.execvpe(argv[0], list(argv), env)
    return pid, fd


def _send(fd: int, text: str, settle: float = 0.3) -> str:
    os.write(fd, text.encode())
    out, end = b"", time.monotonic() + settle
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
    return out.decode(errors="replace")


def test_live_interactive_shell_is_reported_and_strict_refuses(tmp_path):
    hist = tmp_path / "live.hist"
    env = dict(os.environ, HISTFILE=str(hist), PS1="$ ", TERM="dumb")
    pid, fd = _spawn_shell(env)
    try:
        _send(fd, "echo started\n", 0.5)
        proc = subprocess.run([sys.executable, "-m", "scrub", "histories", "--dry-run", "--json"],
                              capture_output=True, text=True, timeout=120)
        doc = json.loads(proc.stdout)
        mine = [w for w in doc["data"]["live_writers"] if w["pid"] == pid]
        assert mine and mine[0]["will_write"] == str(hist) and mine[0]["source"] == "environment"
        assert mine[0]["name"] == "bash"
        strict = subprocess.run([sys.executable, "-m", "scrub", "histories", "--dry-run", "--strict"],
                                capture_output=True, text=True, timeout=120)
        assert strict.returncode == 3 and "refused" in strict.stderr
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def test_the_exec_recipe_leaves_nothing(tmp_path):
    """A bash session runs commands, then `exec python3 -m scrub histories`: bash saves its
    history before exec, scrub erases it, and no shell is left to write it again."""
    root = tmp_path / "img"
    (root / "etc").mkdir(parents=True)
    (root / "home/tester").mkdir(parents=True)
    (root / "etc/passwd").write_text(f"tester:x:{os.getuid()}:{os.getgid()}::/home/tester:/bin/bash\n")
    hist = root / "home/tester/.bash_history"
    env = dict(os.environ, HISTFILE=str(hist), HISTSIZE="100", HISTFILESIZE="100", PS1="$ ", TERM="dumb")
    pid, fd = _spawn_shell(env)
    try:
        _send(fd, "echo secret-token-123\n", 0.5)
        out = _send(fd, f"exec {sys.executable} -m scrub histories --root {root}\n", 8.0)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, out
    assert "bash_history" in out and "erased" in out
    time.sleep(0.5)
    assert not hist.exists()


def test_raw_image_holds_no_marker_and_data_journal_is_reported(lab):
    for options, journal in ((None, False), ("data=journal", True)):
        mnt, images = lab.fs("hist" + ("j" if journal else "o"), "ext4", options=options)
        (mnt / "etc").mkdir()
        (mnt / "etc/passwd").write_text("alice:x:1000:1000::/home/alice:/bin/bash\n")
        (mnt / "home/alice").mkdir(parents=True)
        marker = L.new_marker()
        for name in (".bash_history", ".python_history", ".psql_history"):
            L.marker_file(mnt / "home/alice" / name, marker, 32 << 10)
        os.sync()
        assert L.count_marker(images, marker) > 0
        report = histories(mnt, writers=False)
        assert all(i.status == "done" for i in report.items)
        ids = {e["id"] for e in report.storage_summary()}
        lab.umount(mnt)
        left = L.count_marker(images, marker)
        if journal:
            assert "ext4-data-journal" in ids and left > 0  # said, and true
        else:
            assert "ext4-data-journal" not in ids and left == 0


def test_remedy_names_the_shell_that_started_scrub():
    from scrub.histories import Writer, remedy_for

    mine = Writer(4242, "alice", "bash", b"/home/alice/.bash_history", "default", ancestor=True)
    other = Writer(77, "bob", "psql", b"/home/bob/.psql_history", "environment", ancestor=False)
    text = remedy_for([mine, other])
    assert "pid 4242" in text and "exec python3 -m scrub histories" in text and "saves its history before exec" in text
    assert "unset HISTFILE" in text and "kill -9 $$" in text and "kill -9 77" in text
    assert remedy_for([]) == ""


@pytest.mark.parametrize("name,cmdline,kind", [
    ("bash", ["-bash"], "bash"), ("bash", ["bash", "-i"], "bash"), ("bash", ["bash", "script.sh"], None),
    ("bash", ["bash", "-c", "ls"], None), ("python3.11", ["python3.11"], "python"), ("python3", ["python3", "x.py"], None),
    ("node", ["node"], "node"), ("node", ["node", "server.js"], None), ("psql", ["psql", "-d", "app"], "psql"),
    ("sshd", ["sshd"], None),
])
def test_which_processes_write_histories(name, cmdline, kind):
    from scrub.histories import _writer_kind

    assert _writer_kind(name, cmdline) == kind
