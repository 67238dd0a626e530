"""The attack suite: one unprivileged user (alice, uid 1000) controls her home and tries to make
root's scrub destroy, read or leak something else.  Every test builds a fake root in its own
temporary directory with real owners (chown), places sentinels outside the homes (inside the
root and outside it), runs scrub as root over it, and checks the sentinels byte for byte, that
bob's histories are still erased, the per-path error, the exit code and that --json parses.
No test runs histories on "/".  docs/threat-model.md lists each attack with its rule and test.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import require_root
from scrub.cli import main
from scrub.discover import scan, signatures

ALICE, BOB = 1000, 1001
PASSWD = ("root:x:0:0:root:/root:/bin/bash\n"
          "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n"
          "bob:x:1001:1001::/home/bob:/bin/bash\n")
SECRET = "root:$6$sentinel$hash:19000:0:99999:7:::\n"


@pytest.fixture(autouse=True)
def _root_only():
    require_root()


class Img:
    """A fake system root plus sentinels, with helpers to plant what alice controls."""

    def __init__(self, tmp: Path, passwd: str = PASSWD):
        self.tmp = tmp
        self.root = tmp / "root"
        self.outside = tmp / "outside"  # the host: never to be touched whatever the root says
        for d in ("etc", "root", "home/alice", "home/bob", "var/log"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        os.chown(self.root / "home/alice", ALICE, ALICE)
        os.chown(self.root / "home/bob", BOB, BOB)
        (self.root / "etc/passwd").write_text(passwd)
        self.outside.mkdir()
        self.sentinels: dict[Path, bytes] = {}
        self.sentinel(self.root / "etc/shadow", SECRET, mode=0o600)
        self.sentinel(self.root / "var/log/auth.log", "root-owned log\n")
        self.sentinel(self.outside / "shadow", SECRET, mode=0o600)
        self.sentinel(self.outside / "fish_history", "host file\n")
        # bob's history: must be erased whatever alice does
        self.bob = self.file("home/bob/.bash_history", "bob's secret command\n" * 10, BOB)

    def sentinel(self, path: Path, text: str, mode: int = 0o644) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.chmod(path, mode)
        self.sentinels[path] = hashlib.sha256(path.read_bytes()).digest()
        return path

    def file(self, rel: str, text: str | bytes, uid: int = ALICE, mode: int = 0o600) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        for parent in reversed(p.relative_to(self.root).parents):
            q = self.root / parent
            if str(parent).startswith("home/alice") and q != self.root / "home/alice":
                os.chown(q, ALICE, ALICE)
        p.write_bytes(text.encode() if isinstance(text, str) else text)
        os.chmod(p, mode)
        os.chown(p, uid, uid)
        return p

    def rc(self, text: str, name: str = ".bashrc") -> None:
        self.file(f"home/alice/{name}", text, ALICE, 0o644)

    def intact(self) -> None:
        for path, digest in self.sentinels.items():
            assert path.exists(), f"sentinel {path} was removed"
            assert hashlib.sha256(path.read_bytes()).digest() == digest, f"sentinel {path} was changed"

    def bob_erased(self) -> None:
        assert not self.bob.exists(), "bob's history was not erased: one user's attack stopped the others"


def run(capsys, *args) -> tuple[int, dict]:
    code = main([*args, "--json"])
    out = capsys.readouterr().out
    return int(code), json.loads(out)


def errors_text(doc) -> str:
    return json.dumps(doc["errors"]) + json.dumps(doc["data"].get("errors", []))


def histories(img: Img, capsys, *extra) -> tuple[int, dict]:
    return run(capsys, "histories", "--root", str(img.root), *extra)


# ---------------------------------------------------------------------------------------
# Variables read from dotfiles


@pytest.mark.parametrize("value", [
    "/etc/shadow",                       # absolute, inside the root
    "{outside}/shadow",                   # absolute, on the host outside the root
    "~/../../etc/shadow",                 # climbs out of the home
    "$HOME/../bob/.bash_history",         # another user's file through ..
    "/home/alice/../../etc/shadow",       # the literal home, then ..
    "/../../../../etc/shadow",            # /../ escapes --root
    "~root/.bash_history",                # another user's home
    "../../etc/shadow",                   # relative climb
])
def test_histfile_pointing_outside_the_home_is_reported_and_never_touched(tmp_path, capsys, value):
    img = Img(tmp_path)
    img.rc(f"export HISTFILE={value.format(outside=img.outside)}\n")
    img.file("home/alice/.bash_history", "alice's own history\n")
    code, doc = histories(img, capsys)
    img.intact()
    img.bob_erased()
    assert not (img.root / "home/alice/.bash_history").exists()  # her catalog path is still erased
    assert code == 1
    assert "alice's HISTFILE" in errors_text(doc) and "not touched" in errors_text(doc)
    for item in doc["data"]["items"]:
        assert "etc/shadow" not in item["path"] and "outside" not in item["path"]


def test_system_environment_may_name_paths_inside_the_root_only(tmp_path, capsys):
    img = Img(tmp_path)
    (img.root / "etc/environment").write_text(f"PSQL_HISTORY=/../../../{img.outside.relative_to('/')}/shadow\n")
    code, doc = histories(img, capsys)
    img.intact()
    img.bob_erased()
    # /../../x from a system file is /x inside the root (the root's parent is the root): no such file there
    assert all("outside" not in i["path"] or i["path"].startswith("/") and not Path(i["path"]).exists()
               for i in doc["data"]["items"])


def test_user_owned_system_file_is_not_a_system_source(tmp_path, capsys):
    img = Img(tmp_path)
    (img.root / "etc/profile.d").mkdir()
    prof = img.root / "etc/profile.d/alice.sh"
    prof.write_text("export HISTFILE=/etc/shadow\n")
    os.chown(prof, ALICE, ALICE)  # a file alice can change is alice's say-so
    histories(img, capsys)
    img.intact()


@pytest.mark.parametrize("var,value,planted", [
    ("XDG_DATA_HOME", "/etc", "etc/fish/fish_history"),
    ("XDG_STATE_HOME", "{outside}", None),
    ("ZDOTDIR", "/var/log", None),
    ("KUBECONFIG", "/etc/shadow:~/.kube/other", None),
])
def test_directory_variables_cannot_move_scrub_out_of_the_home(tmp_path, capsys, var, value, planted):
    img = Img(tmp_path)
    if planted:
        img.sentinel(img.root / planted, "- cmd: root's fish history\n")
    img.rc(f"export {var}={value.format(outside=img.outside)}\n")
    code, doc = histories(img, capsys)
    img.intact()
    img.bob_erased()
    assert code == 1 and f"alice's {var}" in errors_text(doc)
    code, doc = run(capsys, "scan", "--root", str(img.root))
    assert "etc/shadow" not in json.dumps(doc["data"]["findings"])


def test_pam_environment_default_is_confined(tmp_path, capsys):
    img = Img(tmp_path)
    img.rc("HISTFILE DEFAULT=/etc/shadow\n", ".pam_environment")
    code, doc = histories(img, capsys)
    img.intact()
    assert code == 1 and "alice's HISTFILE" in errors_text(doc)


def test_a_value_inside_the_home_still_works(tmp_path, capsys):
    img = Img(tmp_path)
    img.rc('export HISTFILE="$HOME/logs/bash.hist"\nexport XDG_DATA_HOME=~/data\n')
    img.file("home/alice/logs/bash.hist", "ls\n")
    img.file("home/alice/data/fish/fish_history", "- cmd: ls\n")
    code, doc = histories(img, capsys)
    assert code == 0, doc
    assert not (img.root / "home/alice/logs/bash.hist").exists()
    assert not (img.root / "home/alice/data/fish/fish_history").exists()
    img.intact()


def test_a_variable_never_reaches_a_file_alice_does_not_own(tmp_path, capsys):
    """HISTFILE=~/.x where ~/.x is a root-only file holding a key: not erased, not read."""
    img = Img(tmp_path)
    key = "aws_secret_access_key = " + "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEYQ"[:-1] + "Z\n"
    placed = img.file("home/alice/.x", "AKIAQWERTYUIOPASDFGH\n" + key, uid=0)
    img.sentinels[placed] = hashlib.sha256(placed.read_bytes()).digest()
    img.rc("export HISTFILE=~/.x\nexport AWS_SHARED_CREDENTIALS_FILE=~/.x\n")
    code, doc = histories(img, capsys)
    img.intact()
    assert code == 1 and "owned by uid 0" in errors_text(doc)
    code, doc = run(capsys, "scan", "--root", str(img.root))
    assert not [f for f in doc["data"]["findings"] if f["path"].endswith("/.x")]
    assert "owned by uid 0" in errors_text(doc)


# ---------------------------------------------------------------------------------------
# Globs and malformed values


@pytest.mark.parametrize("value", ["~/[a-z]*", "~/*", "~/.?ash_history", "~/[", "~/[]", "~/[!]", "~/[z-a]", "~/\\",
                                   "~/**/x", "~/{a,b}", "~/a]b", "~/[[]"])
def test_glob_metacharacters_in_values_are_literal(tmp_path, capsys, value):
    img = Img(tmp_path)
    for name in ("abc", "zzz", ".bash_history2"):
        img.sentinels[img.file(f"home/alice/{name}", f"alice's {name}\n")] = b""
        img.sentinels.pop(img.root / f"home/alice/{name}")
    keep = {name: (img.root / "home/alice" / name).read_bytes() for name in ("abc", "zzz", ".bash_history2")}
    img.rc(f"export HISTFILE={value}\nexport XDG_DATA_HOME={value}\n")
    code, doc = histories(img, capsys)
    img.intact()
    img.bob_erased()
    for name, data in keep.items():
        assert (img.root / "home/alice" / name).read_bytes() == data, f"{value} matched {name}"
    for cmd in (["scan", "--json"], ["audit", "--json"], ["manifest", "--format", "json"]):
        code = main([*cmd, "--root", str(img.root)])
        json.loads(capsys.readouterr().out)
        assert code in (0, 1), f"{cmd} crashed on {value!r}"


VALUE = st.one_of(
    st.text(alphabet="~/.$*?[]{}!-\\'\"`:;# a\x1b\n", max_size=24),
    st.binary(max_size=24).map(lambda b: b.replace(b"\n", b"").decode("latin-1")),
    st.sampled_from(["/", "~", "$HOME", "${HOME}", "@{HOME}", "~/", "/home/alice", "/home/alicex/y", "..", "~/..",
                     "/etc/shadow", "-", "/dev/null", ":", "::", "~/a::/etc/shadow"]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(var=st.sampled_from(["HISTFILE", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "ZDOTDIR", "KUBECONFIG",
                            "LESSHISTFILE", "DOCKER_CONFIG", "AWS_SHARED_CREDENTIALS_FILE"]), value=VALUE)
def test_any_value_never_escapes_and_never_crashes(tmp_path_factory, capsys, var, value):
    img = Img(tmp_path_factory.mktemp("hyp"))
    line = f"export {var}={value}\n".encode("utf-8", "surrogateescape")
    img.file("home/alice/.bashrc", line, ALICE, 0o644)
    code, doc = histories(img, capsys)
    assert code in (0, 1)
    img.intact()
    img.bob_erased()
    assert (img.root / "home/alice/.bashrc").read_bytes() == line  # her config is not a history
    code, doc = run(capsys, "histories", "--root", str(img.root), "--check")
    assert code in (0, 1)


# ---------------------------------------------------------------------------------------
# Links, ownership, hard links


def test_history_symlink_to_a_root_file_removes_only_the_link(tmp_path, capsys):
    img = Img(tmp_path)
    link = img.root / "home/alice/.bash_history"
    link.symlink_to("/etc/shadow")
    os.lchown(link, ALICE, ALICE)
    code, doc = histories(img, capsys)
    img.intact()
    assert not os.path.lexists(link)
    assert code == 0


def test_a_link_owned_by_someone_else_is_not_removed(tmp_path, capsys):
    img = Img(tmp_path)
    link = img.root / "home/alice/.bash_history"
    link.symlink_to("/etc/shadow")
    os.lchown(link, BOB, BOB)
    code, doc = histories(img, capsys)
    assert os.path.lexists(link) and code == 1
    assert "owned by uid 1001" in json.dumps(doc["data"]["items"])
    img.bob_erased()


def test_a_file_alice_does_not_own_is_refused_unless_root_owned_at_a_catalog_path(tmp_path, capsys):
    img = Img(tmp_path)
    bobs = img.file("home/alice/.bash_history", "bob planted this\n", uid=BOB)
    roots = img.file("home/alice/.python_history", "root's REPL in alice's home\n", uid=0)
    code, doc = histories(img, capsys)
    assert bobs.exists(), "a file bob owns in alice's home was erased"
    assert not roots.exists(), "a root-owned file at a catalog path with one link is erased"
    assert code == 1
    img.intact()


def test_a_hard_link_to_a_root_file_is_refused(tmp_path, capsys):
    img = Img(tmp_path)
    target = img.root / "etc/shadow"
    os.link(target, img.root / "home/alice/.bash_history")
    code, doc = histories(img, capsys)
    img.intact()
    assert code == 1 and "hard link" in json.dumps(doc["data"]["items"])


def test_a_directory_component_swapped_for_a_link_is_refused(tmp_path, capsys):
    img = Img(tmp_path)
    (img.root / "home/alice/.local").mkdir()
    os.chown(img.root / "home/alice/.local", ALICE, ALICE)
    (img.root / "home/alice/.local/share").symlink_to(img.outside)
    code, doc = histories(img, capsys)
    img.intact()  # outside/fish_history stays


def test_a_racing_directory_swap_never_leads_out(tmp_path, capsys):
    """A process swaps ~/.local/share/fish between a directory and a symlink to the host's
    sentinels, over and over, while histories runs: the sentinels stay, every round."""
    for rnd in range(25):
        work = tmp_path / f"r{rnd}"
        img = Img(work)
        fish = img.root / "home/alice/.local/share/fish"
        img.file("home/alice/.local/share/fish/fish_history", "- cmd: ls\n")
        real = fish.with_name("fish.real")
        link = fish.with_name("fish.link")
        link.symlink_to(img.outside)
        stop = threading.Event()

        def swap(fish=fish, real=real, link=link, stop=stop):
            while not stop.is_set():
                try:
                    os.rename(fish, real)
                    os.rename(link, fish)
                    os.rename(fish, link)
                    os.rename(real, fish)
                except OSError:
                    pass

        t = threading.Thread(target=swap)
        t.start()
        try:
            code, doc = histories(img, capsys)
        finally:
            stop.set()
            t.join()
        img.intact()
        img.bob_erased()


# ---------------------------------------------------------------------------------------
# Mounts, resources, depth


def test_a_mount_point_below_a_home_is_not_entered(tmp_path, capsys):
    img = Img(tmp_path)
    mnt = img.root / "home/alice/.local/share/fish"
    mnt.mkdir(parents=True)
    target = tmp_path / "mounted"
    target.mkdir()
    img.sentinel(target / "fish_history", "- cmd: on another file system\n")
    subprocess.run(["mount", "--bind", str(target), str(mnt)], check=True)
    try:
        code, doc = histories(img, capsys)
        check_code, check_doc = run(capsys, "histories", "--root", str(img.root), "--check")
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
    img.intact()
    img.bob_erased()
    assert code == 1 and "mount point" in errors_text(doc)
    assert check_code == 1  # what could not be looked at is never "clean"


def test_many_directories_do_not_exhaust_file_descriptors(tmp_path):
    img = Img(tmp_path)
    base = img.root / "home/alice/.local/share/xonsh/history_json"
    for k in range(3000):
        d = base / f"d{k}"
        d.mkdir(parents=True)
        (d / "h.json").write_text('{"cmds": ["ls"]}\n')
    for p in [base, *base.parents]:
        if str(p).startswith(str(img.root / "home/alice/")):
            os.chown(p, ALICE, ALICE)
    subprocess.run(["chown", "-R", f"{ALICE}:{ALICE}", str(base)], check=True)
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024));"
            "from scrub.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", code, "histories", "--root", str(img.root), "--json"],
                          capture_output=True, text=True, timeout=600)
    doc = json.loads(proc.stdout)
    bad = [(i["status"], i["reason"][:300]) for i in doc["data"]["items"] if i["status"] != "done"]
    assert proc.returncode == 0, (proc.stderr[-2000:], doc["errors"], bad)
    assert "mountinfo" not in proc.stdout + proc.stderr
    assert not any(base.rglob("*.json"))
    img.bob_erased()


def test_a_tree_deeper_than_the_walk_limit_is_an_error_not_erased(tmp_path, capsys):
    img = Img(tmp_path)
    d = img.root / "home/alice/.local/share/xonsh/history_json"
    for _ in range(70):
        d = d / "d"
    d.mkdir(parents=True)
    (d / "deep.json").write_text("{}\n")
    code, doc = histories(img, capsys)
    assert code == 1
    assert "deeper than" in json.dumps(doc["data"]["items"])
    assert (d / "deep.json").exists()
    img.bob_erased()


def _cpu(fn, data) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        fn(data)
        best = min(best, time.process_time() - t)
    return best


@pytest.mark.parametrize("unit", [
    b"-----BEGIN RSA PRIVATE KEY-----\n", b"-----BEGIN A-----\n-----END B-----\n", b"-----BEGIN OPENSSH PRIVATE KEY-----\\n",
    b"LS0tLS1CRUdJTi", b"AKIA", b"xoxb-", b"https://u:", b"password=", b"PuTTY-User-Key-File-2: ",
    b"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----", b"PrivateKey = ", b"aws_secret_access_key=",
])
def test_pathological_content_costs_linear_time(unit):
    """1 MiB of one repeated prefix: CPU time grows no faster than the input (within noise)."""
    def classify(data):
        signatures.classify(data, name="x.pem", size=len(data))
    small = unit * ((256 << 10) // len(unit))
    big = unit * ((1 << 20) // len(unit))
    t_small, t_big = _cpu(classify, small), _cpu(classify, big)
    assert t_big < 0.5, f"{unit!r}: {t_big:.2f} s of CPU for 1 MiB"
    assert t_big <= max(8 * t_small, 0.02), f"{unit!r}: {t_small:.3f} s -> {t_big:.3f} s for 4x the input"


# ---------------------------------------------------------------------------------------
# Terminal output, odd passwd data


def test_escape_sequences_in_names_and_contents_never_reach_the_terminal(tmp_path):
    passwd = PASSWD + "ev\x1b[2Jil:x:1002:1002::/home/evil:/bin/bash\n"
    img = Img(tmp_path, passwd)
    (img.root / "home/evil").mkdir()
    img.file("home/alice/.local/share/xonsh/history_json/\x1b]0;pwned\x07\r.json", "\x1b[31mred\x1b[0m\n")
    img.file("home/alice/.aws/credentials", "[x]\naws_access_key_id = AKIA\x1b[2JQWERTYUIOPAS\n")
    for cmd in (["histories", "--dry-run"], ["scan"], ["audit"], ["histories", "--check"]):
        proc = subprocess.run([sys.executable, "-m", "scrub", *cmd, "--root", str(img.root)], capture_output=True, timeout=120)
        out = proc.stdout + proc.stderr
        for bad in (b"\x1b", b"\x07", b"\r"):
            assert bad not in out, f"{cmd}: raw {bad!r} reached the terminal"
        assert b"Traceback" not in out
        proc = subprocess.run([sys.executable, "-m", "scrub", *cmd, "--root", str(img.root), "--json"], capture_output=True,
                              timeout=120)
        json.loads(proc.stdout)


def test_odd_passwd_data_is_reported_and_every_other_user_done(tmp_path, capsys):
    passwd = (PASSWD + "alice:x:1005:1005::/home/alice2:/bin/bash\n"   # duplicate name, other home
              "slash:x:1006:1006::/:/bin/bash\n"                       # home /
              "rel:x:1007:1007::home/rel:/bin/bash\n"                  # relative home
              "empty:x:1008:1008:::/bin/bash\n"                        # empty home
              "linked:x:1009:1009::/home/linked:/bin/bash\n"           # a home that is a link
              "short:x:1010\n"                                         # not an account
              "ghost:x:1011:1011::/home/ghost:/bin/bash\n")            # home missing
    img = Img(tmp_path, passwd)
    img.file("home/alice2/.bash_history", "second alice\n", uid=1005)
    os.chown(img.root / "home/alice2", 1005, 1005)
    (img.root / "home/linked").symlink_to("/etc")  # inside the root: /etc is not a home, and root's files there stay
    img.file("home/alice/.bash_history", "first alice\n")
    code, doc = histories(img, capsys)
    img.intact()
    img.bob_erased()
    assert not (img.root / "home/alice/.bash_history").exists()
    assert not (img.root / "home/alice2/.bash_history").exists(), "the duplicate name's home was skipped"
    text = errors_text(doc)
    for word in ("appears again", "not an absolute path", "is empty", "not 7", "home of ghost missing"):
        assert word in text, word
    assert code == 1


def test_an_empty_history_directory_does_not_block_the_check(tmp_path, capsys):
    img = Img(tmp_path)
    (img.root / "home/alice/.local/share/xonsh/history_json").mkdir(parents=True)
    img.bob.unlink()
    code, doc = run(capsys, "histories", "--root", str(img.root), "--check")
    assert code == 0, doc


# ---------------------------------------------------------------------------------------
# Scan and manifest


def test_manifest_lists_only_what_scrub_found_inside_the_root(tmp_path, capsys):
    img = Img(tmp_path)
    img.rc(f"export HISTFILE=/etc/shadow\nexport AWS_SHARED_CREDENTIALS_FILE={img.outside}/shadow\n")
    code = main(["manifest", "--root", str(img.root), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    paths = [e["path"] for e in doc["data"]["entries"]]
    assert "/etc/shadow" not in paths and not any("outside" in p for p in paths)
    assert "/home/bob/.bash_history" in paths
    assert code == 0


@pytest.mark.parametrize("tool", ["rsync", "tar"])
def test_home_symlink_layout_through_the_real_bundler(tmp_path, capsys, tool):
    """Fedora Atomic / CoreOS: home -> var/home.  The manifest names /var/home/alice/..., the
    path the bundler walks, so the history is not bundled by mistake."""
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} missing") if os.environ.get("SCRUB_REQUIRE_LAB") == "1" else pytest.skip(f"{tool} missing")
    img = Img(tmp_path)
    home = img.root / "home"
    shutil.move(str(home), str(img.root / "var/home"))
    home.symlink_to("var/home")
    bob = img.root / "var/home/bob/.bash_history"
    assert bob.exists()
    fmt = {"rsync": "rsync", "tar": "tar"}[tool]
    manifest = tmp_path / "exclude"
    assert main(["manifest", "--root", str(img.root), "--format", fmt, "-o", str(manifest)]) == 0
    capsys.readouterr()
    if tool == "rsync":
        dest = tmp_path / "copy"
        subprocess.run(["rsync", "-a", f"--exclude-from={manifest}", f"{img.root}/", str(dest)], check=True)
        assert (dest / "var/home/bob").is_dir() and not (dest / "var/home/bob/.bash_history").exists()
    else:
        archive = tmp_path / "img.tar"
        subprocess.run(["tar", "-C", str(img.root), "--anchored", "-X", str(manifest), "-cf", str(archive), "."], check=True)
        names = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True, check=True).stdout.split()
        assert "./var/home/bob/" in names and "./var/home/bob/.bash_history" not in names


# ---------------------------------------------------------------------------------------
# shred through another user's directories


def test_shred_does_not_follow_a_symlink_in_a_directory_another_user_owns(tmp_path, capsys):
    img = Img(tmp_path)
    (img.root / "home/alice/d").symlink_to(img.outside)
    code = main(["shred", "-u", str(img.root / "home/alice/d/shadow")])
    capsys.readouterr()
    img.intact()
    assert code != 0


def test_shred_follows_a_symlink_in_a_root_owned_directory(tmp_path, capsys):
    base = tmp_path / "sys"
    (base / "real").mkdir(parents=True)
    os.chmod(base, 0o755)
    (base / "real/f").write_bytes(b"x" * 4096)
    (base / "link").symlink_to("real")
    assert main(["shred", "-n", "1", str(base / "link/f")]) == 0
    assert (base / "real/f").read_bytes() != b"x" * 4096


def test_shred_refuses_a_symlink_in_a_world_writable_directory(tmp_path, capsys):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    os.chmod(tmpdir, 0o1777)
    victim = tmp_path / "victim"
    victim.mkdir()
    data = b"root's data\n" * 100
    (victim / "f").write_bytes(data)
    (tmpdir / "x").symlink_to(victim)
    code = main(["shred", str(tmpdir / "x/f")])
    assert code != 0 and (victim / "f").read_bytes() == data
    assert "others can write" in capsys.readouterr().err


def test_scan_pem_bomb_in_a_home_is_fast(tmp_path, capsys):
    img = Img(tmp_path)
    img.file("home/alice/.ssh/id_rsa", b"-----BEGIN RSA PRIVATE KEY-----\n" * 32768)
    t = time.process_time()
    report = scan(img.root)
    assert time.process_time() - t < 2.0
    assert report.users
