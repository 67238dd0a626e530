"""Exclude manifests run through the real bundlers: what was archived is compared with what
was meant.  Every intended exclusion excluded, nothing else excluded, every refusal reported.
ec2-bundle-vol cannot be installed here; a double follows its documented parsing (comma
split, Ruby Dir.glob existence check, rsync pattern semantics) and then runs the real rsync.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from scrub.cli import main
from scrub.manifest import emit, entries_from_scan, manual_entries
from scrub.discover import scan

TOOLS = {"tar": "tar", "rsync": "rsync", "mksquashfs": "mksquashfs", "ec2-bundle-vol": "rsync"}

HOSTILE = [b"plain.txt", b"with space", b" leading space", b"trailing space ", b"tab\there", b"trailing tab\t",
           b"cr\rinside", b"trailing cr\r", b"new\nline", b"#hash", b";semi", b"!bang", b"+ plus", b"- minus", b"star*",
           b"quest?", b"[br]", b"]close", b"{brace}", b"back\\slash", b"comma,name", b"quote'name", b"-leading-dash",
           b"\xff\xfe-bytes", b"x" * 255, b"a*b", b"vt\x0b", b"ff\x0c", b"dir with space"]
DECOYS = [b"starX", b"questX", b"b", b"r", b"aXYb", b"trailing spaceX", b"trailing tabX", b"crXinside", b"trailing crX",
          b"newXline", b"commaXname", b"quoteXname", b"backslash", b"tabXhere", b"x" * 254, b"dir with spaceX",
          b"hash", b"leading space", b"plainXtxt", b"vt", b"ff"]


# hostile names at the root itself
TOP = [b"#top", b"- top", b"+ top", b"!", b";top", b" top space", b"\x0bvt-top", b"\x0cff-top"]
TOP_DECOYS = [b"top", b"top space", b"-", b"+", b"vt-top", b"ff-top"]


def build(root: Path, names: list[bytes], decoys: list[bytes]) -> None:
    d = os.fsencode(root / "secrets")
    os.makedirs(d, exist_ok=True)
    for n in names:
        p = d + b"/" + n
        if n.startswith(b"dir"):
            os.makedirs(p, exist_ok=True)
            with open(p + b"/inner", "wb") as f:
                f.write(b"secret")
        else:
            with open(p, "wb") as f:
                f.write(b"secret")
    for n in decoys:
        if n in names:
            continue
        with open(d + b"/" + n, "wb") as f:
            f.write(b"decoy")
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/passwd").write_text("")


def tree(base: bytes) -> set[bytes]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(base):
        for n in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, n), base))
    return out


def run_bundler(fmt: str, root: Path, manifest: Path, em, work: Path) -> set[bytes]:
    """What the bundler put in the image, as paths relative to the root."""
    r = os.fsencode(root)
    if fmt == "tar":
        out = work / "out.tar"
        subprocess.run(["tar", "--anchored", "-X", str(manifest), "-C", str(root), "-cf", str(out), "."], check=True,
                       capture_output=True)
        with tarfile.open(out) as t:
            return {os.fsencode(m.name)[2:] for m in t.getmembers() if m.name not in (".", "./")}
    dest = work / "dest"
    if fmt == "rsync":
        cmd = ["rsync", "-a", f"--exclude-from={manifest}", r + b"/", os.fsencode(dest) + b"/"]
        if em.null_separated:
            cmd.insert(2, "--from0")
        subprocess.run(cmd, check=True, capture_output=True)
        return tree(os.fsencode(dest))
    if fmt == "mksquashfs":
        img = work / "image.sqfs"
        subprocess.run(["mksquashfs", str(root), str(img), "-ef", str(manifest), "-no-progress", "-quiet"], check=True,
                       capture_output=True)
        subprocess.run(["unsquashfs", "-q", "-d", str(dest), str(img)], check=True, capture_output=True)
        return tree(os.fsencode(dest))
    if fmt == "ec2-bundle-vol":
        return ec2_bundle_vol_double(manifest.read_bytes().rstrip(b"\n"), r, dest)
    raise AssertionError(fmt)


def ruby_glob_regex(item: bytes) -> re.Pattern:
    """Ruby Dir.glob without flags: backslash escapes, * and ? stay in one component and do
    not match a leading dot, [...] classes, {a,b} alternatives, **/ any depth."""
    out, i, start = [], 0, True
    while i < len(item):
        c = item[i:i + 1]
        if c == b"\\" and i + 1 < len(item):
            out.append(re.escape(item[i + 1:i + 2]))
            i += 2
        elif item[i:i + 3] == b"**/":
            out.append(rb"(?:[^/.][^/]*/)*")
            i += 3
        elif c == b"*":
            out.append((rb"(?!\.)" if start else b"") + rb"[^/]*")
            i += 1
        elif c == b"?":
            out.append((rb"(?!\.)" if start else b"") + rb"[^/]")
            i += 1
        elif c == b"[":
            j = i + 1
            cls = []
            while j < len(item) and item[j:j + 1] != b"]":
                if item[j:j + 1] == b"\\":
                    j += 1
                cls.append(re.escape(item[j:j + 1]))
                j += 1
            out.append(b"[" + b"".join(cls) + b"]")
            i = j + 1
        elif c == b"{":
            j = item.index(b"}", i)
            out.append(b"(?:" + b"|".join(re.escape(a) for a in item[i + 1:j].split(b",")) + b")")
            i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
        start = c == b"/"
    return re.compile(b"".join(out) + rb"\Z", re.S)


def ec2_bundle_vol_double(value: bytes, volume: bytes, dest: Path) -> set[bytes]:
    items = [x for x in value.split(b",") if x]  # OptionParser Array: split on every comma, no escape
    paths = {b"/" + p for p in tree(volume)}
    for item in items:  # each item must glob-match something that exists, or the tool aborts
        rx = ruby_glob_regex(item)
        assert any(rx.match(p) for p in paths), f"ec2-bundle-vol would abort: {item!r} does not exist"
    cmd = ["rsync", "-rlpgoDtS"] + [b"--exclude=" + item for item in items] + [volume + b"/", os.fsencode(dest) + b"/"]
    subprocess.run(cmd, check=True, capture_output=True)
    return tree(os.fsencode(dest))


def verify(fmt: str, archived: set[bytes], targets: list[bytes], decoys: list[bytes], em, widen: bool) -> None:
    refused = {e.path for e, _ in em.refused}
    widened = {e.path for e, _, _ in em.widened}
    for t in targets:
        path = b"/secrets/" + t
        inside = b"secrets/" + t
        if path in refused:
            assert inside in archived, f"{fmt}: refused {t!r} is missing anyway"
        else:
            assert inside not in archived, f"{fmt}: {t!r} was meant to be excluded but is in the image"
    for d in decoys:
        if d in targets:
            continue
        if not widen or not widened:
            assert b"secrets/" + d in archived, f"{fmt}: {d!r} was excluded but nobody asked for it"
    assert b"etc/passwd" in archived


@pytest.mark.parametrize("fmt", ["tar", "rsync", "mksquashfs", "ec2-bundle-vol"])
@pytest.mark.parametrize("widen", [False, True])
def test_hostile_names_through_the_real_bundler(tmp_path, fmt, widen):
    if shutil.which(TOOLS[fmt]) is None or (fmt == "mksquashfs" and shutil.which("unsquashfs") is None):
        if os.environ.get("SCRUB_REQUIRE_LAB") == "1":
            pytest.fail(f"SCRUB_REQUIRE_LAB=1 but {TOOLS[fmt]} is missing")
        pytest.skip(f"{TOOLS[fmt]} not installed")
    root = tmp_path / "root"
    build(root, HOSTILE, DECOYS)
    for n in TOP + TOP_DECOYS:
        (root / os.fsdecode(n)).write_bytes(b"secret" if n in TOP else b"decoy")
    entries, refused_add = manual_entries([b"/secrets/" + n for n in HOSTILE] + [b"/" + n for n in TOP], root=os.fsencode(root))
    assert not refused_add
    em = emit(fmt, entries, root=os.fsencode(root), widen=widen)
    manifest = tmp_path / "manifest"
    manifest.write_bytes(em.data)
    archived = run_bundler(fmt, root, manifest, em, tmp_path)
    verify(fmt, archived, HOSTILE, DECOYS, em, widen)
    for n in TOP:
        assert n not in archived, f"{fmt}: top-level {n!r} is in the image"
    for n in TOP_DECOYS:
        assert n in archived, f"{fmt}: top-level decoy {n!r} was excluded"
    expressed = {e.path for e in em.written} | {e.path for e, _ in em.refused} | {e.path for e, _ in em.dropped}
    assert expressed == {e.path for e in entries}, "an entry was silently dropped"
    if not widen:
        assert not em.widened
    expect_refused = {"tar": {b"trailing space ", b"trailing tab\t", b"trailing cr\r", b"new\nline", b"cr\rinside",
                              b"vt\x0b", b"ff\x0c"},
                      "rsync": set(), "mksquashfs": {b"new\nline"},
                      "ec2-bundle-vol": {b"comma,name", b"quote'name", b"new\nline", b"cr\rinside", b"trailing cr\r"}}[fmt]
    got = {e.path[len(b"/secrets/"):] for e, _ in em.refused} | {e.path[len(b"/secrets/"):] for e, _, _ in em.widened}
    assert got == expect_refused


NAME = st.binary(min_size=1, max_size=10).map(lambda b: bytes(c for c in b if c not in (0, 47))).filter(
    lambda b: b and b not in (b".", b"..") and not b.startswith(b"dir"))
TRICKY = st.lists(st.sampled_from(list(b" \t\r\n\v\f#;!+-*?[]{}\\,'x.\xff")), min_size=1, max_size=8).map(bytes).filter(
    lambda b: b not in (b".", b".."))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.one_of(NAME, TRICKY), min_size=1, max_size=6, unique=True),
       fmt=st.sampled_from(["tar", "rsync", "mksquashfs", "ec2-bundle-vol"]))
def test_generated_names_round_trip(tmp_path_factory, names, fmt):
    work = tmp_path_factory.mktemp("gen")
    root = work / "root"
    decoys = [n + b"X" for n in names if n + b"X" not in names]
    build(root, names, decoys)
    entries, refused_add = manual_entries([b"/secrets/" + n for n in names], root=os.fsencode(root))
    assert not refused_add
    if shutil.which(TOOLS[fmt]) is None:
        return
    em = emit(fmt, entries, root=os.fsencode(root))
    manifest = work / "manifest"
    manifest.write_bytes(em.data)
    verify(fmt, run_bundler(fmt, root, manifest, em, work), names, decoys, em, False)


def test_from_a_scan_with_directory_folding_and_the_cli(tmp_path, capsys):
    root = tmp_path / "img"
    home = root / "home/alice"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws/credentials").write_text("[default]\naws_access_key_id = AKIAABCDEFGHIJKLMNOP\n")
    (home / ".aws/config").write_text("[default]\nregion = eu-west-1\n")
    (home / ".ssh").mkdir()
    (home / ".ssh/authorized_keys").write_text("ssh-ed25519 AAAA alice\n")
    (home / ".bash_history").write_text("ls\n")
    (home / "notes.txt").write_text("keep\n")
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("alice:x:1000:1000::/home/alice:/bin/bash\n")
    report = scan(root)
    flat = {e.path for e in entries_from_scan(report)}
    assert flat == {b"/home/alice/.aws/credentials", b"/home/alice/.ssh/authorized_keys", b"/home/alice/.bash_history"}
    folded = {e.path for e in entries_from_scan(report, dirs=True, root=os.fsencode(root))}
    assert folded == {b"/home/alice/.aws", b"/home/alice/.ssh/authorized_keys", b"/home/alice/.bash_history"}
    out = tmp_path / "m.tar"
    assert main(["manifest", "--root", str(root), "--format", "tar", "--dirs", "-o", str(out)]) == 0
    assert out.read_bytes().splitlines() == [b"./home/alice/.aws", b"./home/alice/.bash_history",
                                             b"./home/alice/.ssh/authorized_keys"]
    err = capsys.readouterr().err
    assert "EBS snapshot" in err and "tar --anchored -X" in err
    # a missing --add path is refused (exit 1): an exclude for it would match nothing
    assert main(["manifest", "--root", str(root), "--format", "ec2-bundle-vol", "--add", "/home/alice/a,b"]) == 1
    captured = capsys.readouterr()
    assert "--no-filter" in captured.err and "ed25519" in captured.err and "-e '" in captured.err
    assert "refused: /home/alice/a,b: does not exist" in captured.err
    assert b"a,b" not in captured.out.encode()
    (home / "a,b").write_text("x")
    assert main(["manifest", "--root", str(root), "--format", "ec2-bundle-vol", "--add", "/home/alice/a,b"]) == 1
    assert "refused: /home/alice/a,b" in capsys.readouterr().err
    (home / os.fsdecode(b"\xff")).write_text("x")
    assert main(["manifest", "--root", str(root), "--format", "json", "--add", os.fsdecode(b"/home/alice/\xff")]) == 0
    doc = json.loads(capsys.readouterr().out)
    entries = {e["path"]: e for e in doc["data"]["entries"]}
    assert entries["/home/alice/.bash_history"]["formats"]["tar"] == "exact"
    assert any("path_b64" in e for e in doc["data"]["entries"]) and "EBS" in doc["data"]["limits"]


def test_ec2_bundle_vol_list_past_the_argument_limit_folds_or_refuses(tmp_path, capsys):
    """ec2-bundle-vol runs rsync through sh -c: one argument, at most 128 KiB.  Many files in
    one directory fold into that directory (exact: every entry is excluded); many files in
    directories that also hold other files cannot fold, and the list is refused (exit 1), never
    written too long for the bundle to run."""
    from scrub.manifest import MAX_ARG_STRLEN

    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("alice:x:1000:1000::/home/alice:/bin/bash\n")
    hist = root / "home/alice/.local/share/xonsh/history_json"
    hist.mkdir(parents=True)
    names = [f"{'x' * 90}{k:05d}.json" for k in range(2000)]
    for n in names:
        (hist / n).write_text('{"cmds": ["ls"]}\n')
    paths = [f"/home/alice/.local/share/xonsh/history_json/{n}" for n in names]
    entries, refused = manual_entries(paths, root=os.fsencode(root))
    assert not refused
    em = emit("ec2-bundle-vol", entries, root=os.fsencode(root))
    assert em.data.strip() == b"/home/alice/.local/share/xonsh/history_json" and not em.refused
    assert any("whole directory" in n for n in em.notes)
    (hist / "keep.txt").write_text("not excluded\n")  # now the directory cannot be excluded exactly
    em = emit("ec2-bundle-vol", entries, root=os.fsencode(root))
    assert em.data.strip() == b"" and len(em.refused) == len(entries)
    assert "MAX_ARG_STRLEN" in em.refused[0][1] and "--format rsync" in em.refused[0][1]
    small = emit("ec2-bundle-vol", entries[:50], root=os.fsencode(root))
    assert len(small.data) < MAX_ARG_STRLEN and len(small.written) == 50


def test_ec2_bundle_vol_non_utf8_names_need_lc_all_c(tmp_path):
    root = tmp_path / "root"
    (root / "srv").mkdir(parents=True)
    (root / os.fsdecode(b"srv/caf\xe9")).write_text("x")
    entries, _ = manual_entries([b"/srv/caf\xe9"], root=os.fsencode(root))
    em = emit("ec2-bundle-vol", entries, root=os.fsencode(root))
    assert em.command.startswith("LC_ALL=C ec2-bundle-vol") and any("LC_ALL=C" in n for n in em.notes)
    plain, _ = manual_entries([b"/srv"], root=os.fsencode(root))
    assert emit("ec2-bundle-vol", plain, root=os.fsencode(root)).command.startswith("ec2-bundle-vol")
