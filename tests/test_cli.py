"""python3 -m scrub: exit codes, one JSON document, GNU shred's flag spellings, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys


from scrub.cli import main


def run_json(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_help_and_version_through_python_m():
    proc = subprocess.run([sys.executable, "-m", "scrub", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "shred" in proc.stdout and "storage" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "scrub", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and "engine" in proc.stdout


def test_info_names_the_engine(capsys):
    code, doc = run_json(capsys, "info", "--json")
    assert code == 0 and doc["scrub_result_version"] == 1 and doc["data"]["engine"]


def test_list_schemes(capsys):
    code, doc = run_json(capsys, "shred", "--list-schemes", "--json")
    assert code == 0 and {s["id"] for s in doc["data"]["schemes"]} >= {"shred", "gutmann", "dod-3", "nist-clear"}
    assert main(["shred", "--list-schemes"]) == 0 and "gutmann" in capsys.readouterr().out


def test_combined_short_flags_and_bare_remove(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"secret")
    b.write_bytes(b"secret")
    code, doc = run_json(capsys, "shred", "--json", "--no-storage", "-zuf", "-n1", str(a))
    r = doc["data"]["results"][0]
    assert code == 0 and r["removed"] and [p["label"] for p in r["passes"]] == ["random", "00"]
    code, doc = run_json(capsys, "shred", "--json", "--no-storage", "--remove", str(b))  # does not eat the path
    assert code == 0 and doc["data"]["results"][0]["renames"] and not b.exists()


def test_exit_codes_partial_failure_and_json_stays_parseable(tmp_path, capsys):
    good = tmp_path / "good"
    good.write_bytes(b"x")
    code, doc = run_json(capsys, "shred", "--json", "--no-storage", str(tmp_path / "missing"), str(good))
    assert code == 1 and doc["status"] == "partial" and doc["exit_code"] == 1
    assert [r["status"] for r in doc["data"]["results"]] == ["failed", "done"]


def test_usage_errors_exit_without_traceback(tmp_path, capsys):
    """shred's usage errors exit 1, as GNU shred's; every other command's exit 2."""
    assert main(["shred", "--scheme", "nope", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "unknown scheme" in err and "Traceback" not in err
    assert main(["shred", "-s", "-5", str(tmp_path)]) == 1
    assert main(["shred"]) == 1
    assert main(["shred", "--verify", "maybe", "x"]) == 1
    assert main(["shred", "--version"]) == 0 and main(["shred", "--help"]) == 0
    assert main(["frobnicate"]) == 2
    assert main(["scan", "--class", "nope"]) == 2
    capsys.readouterr()
    code, doc = run_json(capsys, "shred", "--json", "--scheme", "nope", "x")
    assert code == 1 and doc["status"] == "error" and doc["exit_code"] == 1 and doc["errors"][0]["message"]


def test_gnu_option_reading(tmp_path, capsys):
    """Options anywhere among the files, '--', GNU's abbreviations winning over scrub-only
    options, a bare --remove that never takes the next word, combined short options."""
    for name in ("a", "b", "unlink", "--remove", "-n"):
        (tmp_path / name).write_bytes(b"x" * 100)
    os.chdir(tmp_path)
    assert main(["shred", "--no-storage", "-n1", "a", "-u", "b"]) == 0
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert main(["shred", "--no-storage", "-n1", "--remove", "unlink"]) == 0 and not (tmp_path / "unlink").exists()
    assert main(["shred", "--no-storage", "-n1", "-u", "--", "--remove", "-n"]) == 0
    assert not (tmp_path / "--remove").exists() and not (tmp_path / "-n").exists()
    (tmp_path / "f").write_bytes(b"x")
    assert main(["shred", "--no-storage", "-vzn2", "--s=1K", "--e", "f"]) == 0  # --s is --size, --e is --exact
    assert (tmp_path / "f").stat().st_size == 1024 and (tmp_path / "f").read_bytes() == bytes(1024)
    assert "pass 3/3 (000000)" in capsys.readouterr().err


def test_non_utf8_path_in_json(tmp_path, capsys):
    name = os.fsencode(tmp_path) + b"/\xff\xfe-history"
    with open(name, "wb") as fh:
        fh.write(b"x")
    code, doc = run_json(capsys, "shred", "--json", "--no-storage", "-u", os.fsdecode(name))
    r = doc["data"]["results"][0]
    import base64

    assert code == 0 and base64.b64decode(r["path_b64"]) == name and "\\xff" in r["path"]


def test_text_output_and_verbose(tmp_path, capsys):
    f = tmp_path / "f"
    f.write_bytes(b"x" * 100)
    assert main(["shred", "-v", "--no-storage", "-n", "2", str(f)]) == 0
    out = capsys.readouterr()
    assert out.out == ""  # nothing on stdout on success, as GNU shred
    assert "pass 1/2 (random)" in out.err and "pass 2/2 (random)" in out.err


def test_storage_findings_printed_before_the_overwrite(tmp_path, capsys, monkeypatch):
    from scrub.storage.findings import Finding
    from scrub.storage.inspect import Inspector, StorageReport

    def fake_inspect(self, fd, path, _depth=0):
        return StorageReport(path, findings=[Finding("btrfs-cow", "btrfs on /dev/x at /")])
    monkeypatch.setattr(Inspector, "inspect_fd", fake_inspect)
    f = tmp_path / "f"
    f.write_bytes(b"x")
    assert main(["shred", "-v", "-n", "1", str(f)]) == 0
    err = capsys.readouterr().err
    assert err.index("python3 -m scrub: storage: ineffective") < err.index("pass 1/1")
    g = tmp_path / "g"
    g.write_bytes(b"y")
    assert main(["shred", "-n", "1", str(f), str(g)]) == 0
    err = capsys.readouterr().err  # a finding about the mount is said once per run, not once per file
    assert err.count("storage: ineffective: btrfs") == 1, err
    assert main(["shred", "--strict", str(f)]) == 3
    assert "refused" in capsys.readouterr().err
    code, doc = run_json(capsys, "shred", "--strict", "--json", str(f))
    assert code == 3 and doc["data"]["results"][0]["findings"][0]["id"] == "btrfs-cow"


def _stderr_on_a_pty(args: list[str], term: str) -> tuple[int, bytes]:
    """Run python -m scrub ARGS with stderr on a pseudo-terminal; (exit code, what it showed)."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "scrub", *args], stdout=subprocess.PIPE, stderr=slave,
                            env={**os.environ, "TERM": term})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(master)
    return proc.returncode, b"".join(chunks)


def test_progress_on_a_terminal(tmp_path):
    """A TTY on stderr gets a rewritten progress line with pass, bytes, rate and ETA."""

    f = tmp_path / "f"
    with open(f, "wb") as fh:
        fh.truncate(0)
        for _ in range(256):
            fh.write(b"\1" * (1 << 20))
    code, raw = _stderr_on_a_pty(["shred", "--no-storage", "--buffered", "-n", "3", str(f)], "xterm")
    text = raw.decode()
    assert code == 0
    assert "\r" in text and "pass 1/3 (random)" in text and "ETA" in text
    assert "MiB/s" in text or "GiB/s" in text


def _big(tmp_path, mib=128):
    f = tmp_path / "big"
    with open(f, "wb") as fh:
        for _ in range(mib):
            fh.write(b"\1" * (1 << 20))
    return f


def test_progress_plain_for_logs_and_no_escapes_for_dumb_terminals(tmp_path, monkeypatch, capsys):
    """--progress=plain: lines (no CR, no escape) at each phase, write, sync and verify; a
    terminal with TERM=dumb gets no escape codes by default; JSON gives each phase's seconds."""

    from scrub import cli as cli_module

    f = _big(tmp_path, 64)
    monkeypatch.setattr(cli_module._Reporter, "PLAIN_EVERY", 0.0)
    assert main(["shred", "--no-storage", "-n", "1", "--progress=plain", str(f)]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    assert "pass 1/1 (random) syncing" in err and "pass 1/1 (random) verifying" in err and "MiB" in err
    code, raw = _stderr_on_a_pty(["shred", "--no-storage", "-n", "1", str(f)], "dumb")
    assert code == 0 and b"\x1b" not in raw and b"\r" not in raw.replace(b"\r\n", b"")
    code, doc = run_json(capsys, "shred", "--no-storage", "-n", "1", "--json", str(f))
    [p] = doc["data"]["results"][0]["passes"]
    assert p["write_seconds"] > 0 and p["sync_seconds"] >= 0 and p["verify_seconds"] > 0
    assert p["write_mib_s"] > 0 and p["verify_mib_s"] > 0
    assert abs(p["seconds"] - (p["write_seconds"] + p["sync_seconds"] + p["verify_seconds"])) < 0.05
