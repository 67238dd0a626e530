"""``python3 -m scrub``: argparse front end.  One builder and one handler per subcommand;
errors become exit codes in one place (main)."""

from __future__ import annotations

import argparse
import builtins
import enum
import json
import os
import re
import sys
import time
from typing import Callable

import scrub
from scrub import schemes
from scrub._paths import c_quote, display, gnu_human, shell_quote
from scrub.exceptions import Interrupted, ScrubError
from scrub.overwrite import parse_size
from scrub.results import Progress

PROG = "python3 -m scrub"
RESULT_VERSION = 1

# Every byte that reaches a terminal may come from a file name, a file's content, a user name
# or a message: no raw ESC, CR, BEL (or lone surrogates) ever leave through print().  JSON is
# escaped by json.dumps; manifests are written as bytes; progress lines use sys.stderr.write.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(text: str) -> str:
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)


def print(*args, sep: str = " ", end: str = "\n", file=None, flush: bool = False) -> None:  # noqa: A001 - shadows on purpose
    builtins.print(_escape(sep.join(str(a) for a in args)), end=end, file=file, flush=flush)


GNU_VERBOSE_UPDATE = 5  # seconds between GNU shred's -v byte-progress lines
SHRED_FAILURE = 1  # the shred command's usage errors exit 1, as GNU shred's (scrub's other commands: 2)


class ExitCode(enum.IntEnum):
    OK = 0  # clean, or done
    FINDINGS = 1  # findings, failed checks, or a path that failed
    USAGE = 2  # usage or fatal error
    REFUSED = 3  # refused for safety (--strict)
    INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own exit code is 2 as well; keep the message short
        self.print_usage(sys.stderr)
        raise SystemExit(f"{self.prog}: error: {message}")


class _ShredParser(_Parser):
    """shred's usage errors in GNU shred's words (scripts match on them): no usage block,
    'Try ... --help' where GNU says it, exit 1."""

    def error(self, message):
        m = re.match(r"argument [^:]+: (invalid (?:number of passes|file size): .*)$", message, re.DOTALL)
        if m:  # GNU: the value's complaint alone
            raise SystemExit(f"{self.prog}: {m.group(1)}")
        m = re.match(r"argument [^:]+: ((?:invalid|ambiguous) argument .*)$", message, re.DOTALL)
        if m:
            raise SystemExit(f"{self.prog}: {m.group(1)}\n{_shred_try()}")
        m = re.match(r"argument (\S+): expected one argument$", message)
        if m:  # the spelling the user wrote (argparse names them all)
            spellings = m.group(1).split("/")
            opt = next((w for w in reversed(self.words) if w in spellings), spellings[0])
            what = (f"option requires an argument -- '{opt[1:]}'" if not opt.startswith("--")
                    else f"option '{opt}' requires an argument")
            raise SystemExit(f"{self.prog}: {what}\n{_shred_try()}")
        raise SystemExit(f"{self.prog}: {message}\n{_shred_try()}")

    def unknown(self, word: str):
        """GNU getopt's complaint about the first word it does not know (quoted: never raw
        control bytes on the terminal, where GNU prints them as given)."""
        what = (f"unrecognized option {c_quote(word.split('=', 1)[0] if '=' in word else word)}"
                if word.startswith("--") else f"invalid option -- {c_quote(word[1:2])}")
        raise SystemExit(f"{self.prog}: {what}\n{_shred_try()}")

    words: list[str] = []  # the words being parsed, set by _parse_shred


def _shred_try() -> str:
    return f"Try '{PROG} shred --help' for more information."


def _remove_how(text: str) -> str:
    """--remove=HOW as GNU's argmatch reads it: a whole name, or an abbreviation of one."""
    modes = scrub.overwrite.REMOVE_MODES
    hits = [m for m in modes if m == text] or [m for m in modes if m.startswith(text)]
    if len(hits) == 1:
        return hits[0]
    raise argparse.ArgumentTypeError(
        f"{'ambiguous' if hits else 'invalid'} argument {c_quote(text)} for '--remove'\n"
        "Valid arguments are:" + "".join(f"\n  - '{m}'" for m in modes))


def envelope(command: str, status: str, code: int, data, errors=()) -> str:
    return json.dumps({
        "scrub_result_version": RESULT_VERSION, "command": command, "status": status,
        "exit_code": int(code), "data": data, "errors": list(errors),
    }, indent=2, sort_keys=False)


# --------------------------------------------------------------------------------------
# shred


def _add_root(p) -> None:
    p.add_argument("--root", default="/", type=os.fsencode, metavar="DIR",
                   help="the root: / (this machine) or a mounted image (default /)")


def _passes(text: str) -> int:
    """-n N, checked where it stands (GNU refuses `-n -1 -n 0`, not only the last one)."""
    try:
        n = int(text, 10)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"invalid number of passes: {c_quote(text)}")
    return n


def _size(text: str) -> int:
    """-s N, checked where it stands, as GNU does."""
    try:
        return parse_size(text)
    except scrub.UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_shred(sub) -> None:
    plain, sub._parser_class = sub._parser_class, _ShredParser  # noqa: SLF001 (argparse has no per-parser class)
    p = sub.add_parser(
        "shred", help="overwrite files in place (GNU shred compatible flags)",
        description="Overwrite files in place, sync after every pass, verify, optionally remove. "
        "Reports, per file, where a copy can survive the overwrite.",
    )
    sub._parser_class = plain  # noqa: SLF001
    p.add_argument("paths", nargs="*", metavar="PATH", type=os.fsencode)
    p.add_argument("--version", action="version", version=f"shred (scrub {scrub.__version__}, engine: {_engine_line()})")
    p.add_argument("-n", "--iterations", type=_passes, metavar="N", help="GNU shred's N passes (default 3)")
    p.add_argument("--scheme", metavar="ID", help="a named scheme (--list-schemes) or pattern:HEX")
    p.add_argument("-z", "--zero", action="store_true", help="add a final pass of zeros")
    p.add_argument("-u", dest="remove_u", action="store_true", help="remove after overwriting (like --remove=wipesync)")
    p.add_argument("--remove", type=_remove_how, metavar="HOW",
                   help="remove after overwriting: unlink, wipe (rename) or wipesync (rename, sync each: the default, "
                   "as GNU shred's)")
    p.add_argument("-x", "--exact", action="store_true", help="do not round the size up to the next block")
    p.add_argument("-s", "--size", metavar="N", type=_size, help="overwrite exactly N bytes (suffixes K, M, G ...)")
    p.add_argument("-f", "--force", action="store_true", help="add write permission if necessary")
    p.add_argument("--allow-hardlinks", action="store_true", help="overwrite files that have other hard links")
    p.add_argument("--device", action="store_true", help="allow block devices among the paths")
    p.add_argument("--verify", choices=scrub.overwrite.VERIFY_MODES, default="last",
                   help="read back: none, the last pass (default) or all passes")
    io = p.add_mutually_exclusive_group()
    io.add_argument("--direct", dest="direct", action="store_const", const=True, default=None,
                    help="insist on O_DIRECT and warn where the kernel refuses it (default: O_DIRECT where possible)")
    io.add_argument("--buffered", dest="direct", action="store_const", const=False, help="never use O_DIRECT")
    p.add_argument("--random-source", metavar="FILE", type=os.fsencode, help="take random bytes from FILE")
    p.add_argument("--engine", choices=("native", "python"), help="force an engine")
    p.add_argument("--no-storage", action="store_true", help="do not inspect the storage under each file")
    p.add_argument("--strict", action="store_true",
                   help="refuse (exit 3) files whose storage keeps a copy that an overwrite cannot reach")
    p.add_argument("--list-schemes", action="store_true", help="list the schemes and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="report every pass on stderr")
    p.add_argument("--progress", choices=("auto", "tty", "plain", "none"), default="auto",
                   help="progress on stderr: a rewritten line on a terminal (auto: when stderr is one and TERM is not "
                   "dumb), a plain line every 10 s for logs, or none")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(func=_cmd_shred)


def _schemes_json() -> list[dict]:
    return [{"id": s.id, "name": s.name, "passes": [p.label for p in s.passes], "reference": s.reference,
             "note": s.note} for s in schemes.SCHEMES]


def _cmd_shred(args) -> int:
    if args.list_schemes:
        if args.json:
            print(envelope("shred", "ok", 0, {"schemes": _schemes_json()}))
        else:
            for s in schemes.SCHEMES:
                print(f"{s.id:<11} {plural(len(s.passes), 'pass', 'passes'):>9}  {s.name}: {' '.join(p.label for p in s.passes)}")
            print("pattern:HEX  1 pass    a custom pattern of 1 to 16 bytes")
        return ExitCode.OK
    if not args.paths:
        raise scrub.UsageError("missing file operand")
    if args.json and b"-" in args.paths:
        raise scrub.UsageError("'-' (the file on standard output) and --json cannot both use standard output")
    remove = args.remove or ("wipesync" if args.remove_u else None)
    size = args.size
    mode = "none" if args.json and args.progress == "auto" else _progress_mode(args.progress)
    reporter = _Reporter(args.verbose, mode=mode, show_findings=not args.json)
    try:
        results = scrub.shred(
            args.paths, scheme=args.scheme, iterations=args.iterations, zero=args.zero, remove=remove,
            exact=args.exact, size=size, force=args.force, allow_hardlinks=args.allow_hardlinks,
            devices=args.device, verify=args.verify, direct=args.direct, random_source=args.random_source,
            strict=args.strict, inspect=not args.no_storage, progress=reporter, engine=args.engine,
        )
        interrupted = False
    except Interrupted as exc:
        results, interrupted = exc.results, True
    reporter.clear()
    if interrupted:
        code = ExitCode.INTERRUPTED
    elif any(r.status == "refused" and any(e.code == "strict" for e in r.errors) for r in results):
        code = ExitCode.REFUSED
    elif all(r.ok for r in results):
        code = ExitCode.OK
    else:
        code = ExitCode.FINDINGS
    if args.json:
        status = {ExitCode.OK: "ok", ExitCode.INTERRUPTED: "interrupted"}.get(code, "partial" if any(r.ok for r in results) else "failed")
        print(envelope("shred", status, code, {"results": [r.to_json() for r in results]}))
    else:
        for r in results:
            _print_shred_result(r)
    return code


# Findings about one file (its extents, its layer copy); the others hold for a whole mount or
# device and are said once per run in text output (JSON keeps every finding on every file).
FILE_SCOPED = frozenset({"overlay-lower", "shared-extents", "btrfs-inline", "ext4-inline-journal", "ext4-file-journal",
                         "compressed", "fscrypt"})


def _print_findings(name: str, findings, said: set | None = None) -> None:
    """Storage findings on stderr, before the overwrite starts, each line starting
    ``PROG: storage:`` so that scripts tell them from shred's own messages; a finding about a
    mount or device is said once per run (``said`` remembers), one about the file names it.
    Info findings are left to `python3 -m scrub storage`."""
    said = said if said is not None else set()
    for f in findings:
        if f.severity == "info":
            continue
        scoped = f.id in FILE_SCOPED
        key = (f.id, f.layer, name if scoped else "")
        if key in said:
            continue
        said.add(key)
        where = f"{name}: " if scoped else ""
        print(f"{PROG}: storage: {where}{f.severity}: {f.summary}", file=sys.stderr)
        print(f"{PROG}: storage: {where}  survives: {f.spec.survives}; do: {f.remedy}", file=sys.stderr)


QUIET_WARNINGS = frozenset({"extends"})  # -s past the end: GNU grows the file without a word


def _print_shred_result(r) -> None:
    """Nothing on success (as GNU shred: -v and --json say more); errors and warnings on stderr."""
    name = shell_quote(r.path)
    if not r.ok:
        for e in r.errors:
            print(f"{PROG} shred: {name}: {e.message}", file=sys.stderr)
    for w in r.warnings:
        if w.code in QUIET_WARNINGS:
            continue  # what GNU shred does silently too; JSON keeps it
        print(f"{PROG} shred: {name}: warning: {w.message}", file=sys.stderr)


def _progress_mode(asked: str) -> str:
    if asked != "auto":
        return asked
    return "tty" if sys.stderr.isatty() and os.environ.get("TERM", "") not in ("", "dumb") else "none"


class _Reporter:
    """Progress on stderr: on a terminal one rewritten line through write, sync and verify;
    ``plain`` a line every PLAIN_EVERY seconds and at each phase for logs (Packer, SSM, CI),
    never an escape code; with -v a line per pass."""

    PLAIN_EVERY = 10.0

    def __init__(self, verbose: bool, mode: str = "none", show_findings: bool = True):
        self.verbose, self.mode, self.show_findings = verbose, mode, show_findings
        self.interactive = mode == "tty"
        self.said: set = set()  # storage findings already said in this run
        self.shown = False
        self.started = time.monotonic()
        self.last_plain = 0.0
        self.phase = ""
        self.gnu_next, self.gnu_shown = 0, ""  # GNU's -v byte progress: when next, what last

    def __call__(self, ev: Progress) -> None:
        name = shell_quote(ev.path)  # GNU's quoting of names in shred's messages
        if ev.event == "storage" and self.show_findings:
            self.clear()
            _print_findings(name, ev.findings, self.said)
        elif ev.event == "pass":
            self.started = time.monotonic()
            self.phase = "write"
            if self.verbose:
                self.clear()
                print(f"{PROG} shred: {name}: pass {ev.pass_number}/{ev.passes} ({ev.label})...", file=sys.stderr)
                self.gnu_next, self.gnu_shown = int(time.time()) + GNU_VERBOSE_UPDATE, ""
        elif ev.event == "removing" and self.verbose:
            self.clear()
            self.current = ev.path
            print(f"{PROG} shred: {name}: removing", file=sys.stderr)
        elif ev.event == "rename" and self.verbose:
            # GNU's trace: OLD: renamed to NEW, each with the directory part of the operand
            self.clear()
            head = os.path.dirname(ev.path)
            new = os.path.join(head, ev.detail) if head else ev.detail
            print(f"{PROG} shred: {shell_quote(getattr(self, 'current', ev.path))}: renamed to {shell_quote(new)}",
                  file=sys.stderr)
            self.current = new
        elif ev.event == "removed" and self.verbose:
            self.clear()
            print(f"{PROG} shred: {name}: removed", file=sys.stderr)
        elif ev.event in ("bytes", "sync", "verify") and ev.total:
            if self.verbose and (ev.event == "bytes" or (ev.event == "sync" and self.phase == "write")):
                self._gnu_offset(name, ev, done=ev.event == "sync")
            if ev.event != self.phase and ev.event in ("sync", "verify"):
                self.started = time.monotonic()  # each phase has its own rate and ETA
                self.phase = ev.event
                self._plain(name, ev, force=True)
            self._line(name, ev)

    def _gnu_offset(self, name: str, ev: Progress, done: bool) -> None:
        """GNU's -v byte progress: every GNU_VERBOSE_UPDATE seconds of a pass, the pass line
        again with OFFSET/SIZE PERCENT; once the pass is written, the last one if any was shown."""
        now = int(time.time())  # GNU counts whole seconds
        if not ((done and self.gnu_shown) or (self.gnu_next <= now and ev.done)):
            return
        offset = gnu_human(ev.done, ceiling=False)
        if done or offset != self.gnu_shown:
            self.clear()
            percent = 100 if not ev.total else ev.done * 100 // ev.total
            print(f"{PROG} shred: {name}: pass {ev.pass_number}/{ev.passes} ({ev.label})...{offset}/"
                  f"{gnu_human(ev.total, ceiling=True)} {percent}%", file=sys.stderr)
            self.gnu_shown, self.gnu_next = offset, now + GNU_VERBOSE_UPDATE

    def _text(self, name: str, ev: Progress) -> str:
        what = {"bytes": "", "sync": " syncing", "verify": " verifying"}[ev.event]
        head = f"{name}: pass {ev.pass_number}/{ev.passes} ({ev.label}){what}"
        if ev.event == "sync":
            return f"{head}: waiting for the device ({_human(ev.done)} written)"
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = ev.done / elapsed  # average rate over the phase: a steadier ETA than the last tick
        eta = (ev.total - ev.done) / rate if rate else 0
        return f"{head} {_human(ev.done)}/{_human(ev.total)} {_human(rate)}/s ETA {int(eta) // 60}:{int(eta) % 60:02d}"

    def _line(self, name: str, ev: Progress) -> None:
        if self.interactive:
            sys.stderr.write("\r" + self._text(name, ev)[:200] + "\033[K")
            sys.stderr.flush()
            self.shown = True
        elif self.mode == "plain":
            self._plain(name, ev)

    def _plain(self, name: str, ev: Progress, force: bool = False) -> None:
        now = time.monotonic()
        if self.mode == "plain" and (force or now - self.last_plain >= self.PLAIN_EVERY):
            self.last_plain = now
            print(f"{PROG} shred: {self._text(name, ev)}", file=sys.stderr, flush=True)

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# --------------------------------------------------------------------------------------
# storage


def _add_storage(sub) -> None:
    p = sub.add_parser("storage", help="why an overwrite of PATH may not erase it",
                       description="Inspect the storage under each PATH (mount, file system, block stack, "
                       "media) and say where a copy can survive an in-place overwrite. Read-only.")
    p.add_argument("paths", nargs="+", metavar="PATH", type=os.fsencode)
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when copies can survive")
    p.set_defaults(func=_cmd_storage)


def _cmd_storage(args) -> int:
    from scrub.storage import Inspector

    inspector = Inspector()
    reports = [inspector.inspect(p) for p in args.paths]
    errors = [{"code": "inspect", "message": e, "path": display(r.path)} for r in reports for e in r.errors]
    risky = any(r.worst in ("ineffective", "uncertain") for r in reports)
    code = ExitCode.FINDINGS if (risky or errors) and not args.exit_zero else ExitCode.OK
    if args.json:
        print(envelope("storage", "ok" if not risky and not errors else "findings", code,
                       {"reports": [r.to_json() for r in reports]}, errors))
        return code
    for r in reports:
        _print_storage_report(r)
    return code


_VERDICT = {"ineffective": "an overwrite CANNOT reach every copy", "uncertain": "an overwrite may not reach every copy",
            "mitigated": "copies may survive, as ciphertext only", "info": "an overwrite reaches the data in place",
            None: "an overwrite reaches the data in place"}


def _print_storage_report(r) -> None:
    print(f"{display(r.path)}")
    for e in r.errors:
        print(f"  error: {e}")
    if r.mount is None and r.fstype != "block device":
        return
    if r.mount is not None:
        print(f"  mount     {r.mount.mountpoint} ({r.fstype} on {r.mount.source})")
    else:
        print(f"  device    {r.device} (the block device itself)")
        for why in r.facts.get("in_use") or []:
            print(f"  in use    {why}")
        if r.facts.get("discard_max_bytes") not in (None, "0"):
            print(f"  discard   advertised (discard_max_bytes={r.facts['discard_max_bytes']}): "
                  "a discard is not an erasure (NIST SP 800-88); overwrite")
    fs = {k: r.facts.get(k) for k in ("journal", "data_mode", "reflink", "nodatacow", "compress", "profiles")
          if r.facts.get(k) not in (None, "", {}, [])}
    if fs:
        print("  fs        " + ", ".join(f"{k}={v}" for k, v in fs.items()))
    for layer in r.layers:
        facts = ", ".join(f"{k}={v}" for k, v in layer.facts.items() if v not in (None, "", [], {}))
        print(f"  {layer.kind:<9} {layer.name}" + (f" ({facts})" if facts else ""))
    print(f"  verdict   {_VERDICT[r.worst]}")
    order = {"ineffective": 0, "uncertain": 1, "mitigated": 2, "info": 3}
    for f in sorted(r.findings, key=lambda f: order[f.severity]):
        print(f"  [{f.severity}] {f.id}: {f.summary}")
        if f.severity != "info":
            print(f"      survives: {f.spec.survives}")
            print(f"      do: {f.remedy}")


# --------------------------------------------------------------------------------------
# scan


def _add_scan(sub) -> None:
    p = sub.add_parser("scan", help="find histories and credential stashes of every user",
                       description="Find, for every user of a live system or of a mounted image, the history files and "
                       "credential stashes that must not end up in a shared image. Read-only; secrets are never printed.")
    _add_root(p)
    p.add_argument("--deep", action="store_true", help="also sniff the content of every regular file under the root")
    p.add_argument("--class", dest="classes", action="append", choices=("history", "secret", "grant", "identity", "privacy"),
                   help="only these classes (repeatable; default all)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    out.add_argument("--sarif", action="store_true", help="print SARIF 2.1.0 on stdout")
    p.set_defaults(func=_cmd_scan)


def _cmd_scan(args) -> int:
    from scrub.discover import scan

    try:
        report = scan(args.root, deep=args.deep, classes=args.classes)
    except ScrubError:
        raise  # RootNotFound, NotASystemRoot: their own words
    except OSError as exc:
        raise ScrubError(f"cannot scan: {exc.strerror or exc}", path=args.root) from None
    code = ExitCode.FINDINGS if report.counted() or report.errors else ExitCode.OK
    if args.json:
        print(envelope("scan", "findings" if code else "ok", code, report.to_json(),
                       [{"code": "unreadable", "message": m, "path": display(p)} for p, m in report.errors]))
    elif args.sarif:
        from scrub.sarif import scan_to_sarif

        print(json.dumps(scan_to_sarif(report), indent=2))
    else:
        _print_scan(report)
    return code


def _print_scan(report) -> None:
    scope = "every regular file under the root" if report.deep else "homes and system credential locations"
    print(f"scan of {display(report.root)} ({scope})")
    groups: dict = {}
    for f in report.findings:
        if not f.benign:
            groups.setdefault(f.user, {}).setdefault(f.cls, []).append(f)
    for user, by_cls in groups.items():
        print(user)
        for cls, items in by_cls.items():
            print(f"  {cls} ({len(items)})")
            for f in items:
                print(f"    {display(f.path)}  [{f.catalog_id or 'content'}] {f.evidence}")
    notes = [f for f in report.findings if f.benign]
    for f in notes:
        print(f"note: {display(f.path)} -> {display(f.link_target or b'')} ({f.app}; disabled, left alone)")
    counted = report.counted()
    by_cls = ", ".join(f"{n} {c}" for c, n in sorted(_count(counted).items()))
    line = f"summary: {len(counted)} finding{'s' if len(counted) != 1 else ''}" + (f" ({by_cls})" if by_cls else "")
    line += f" for {len(report.users)} users, {report.entries} entries walked, {report.classified} files read, {report.seconds:.2f} s"
    print(line)
    if report.partial:
        print(f"partial: {plural(len(report.errors), 'place')} could not be read:", file=sys.stderr)
        for p, m in report.errors[:20]:
            print(f"  {display(p)}: {m}", file=sys.stderr)
    for p, why in report.skipped:
        print(f"skipped: {display(p)}: {why}", file=sys.stderr)


def _count(findings) -> dict:
    out: dict = {}
    for f in findings:
        out[f.cls] = out.get(f.cls, 0) + 1
    return out


# --------------------------------------------------------------------------------------
# histories


def _add_histories(sub) -> None:
    p = sub.add_parser(
        "histories", help="erase every history file of every user (the last step before bundling)",
        description="Find every history file of every user (shells, REPLs, database clients, pagers, editors, "
        "network tools; XDG locations), overwrite it and remove it; say which processes will write one again "
        "and what the storage may keep. Run it last, as `exec python3 -m scrub histories`.")
    _add_root(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="say what would happen, change nothing")
    mode.add_argument("--check", action="store_true", help="read-only: exit 0 only if no history with content is left")
    mode.add_argument("--truncate", action="store_true", help="overwrite, then truncate in place instead of removing")
    p.add_argument("--strict", action="store_true",
                   help="exit 3 without erasing while live writers remain; refuse files whose storage keeps a copy")
    p.add_argument("--engine", choices=("native", "python"), help="force an overwrite engine")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(func=_cmd_histories)


def _cmd_histories(args) -> int:
    from scrub import histories as H

    try:
        if args.check:
            report = H.check(args.root)
        else:
            report = H.histories(args.root, dry_run=args.dry_run, truncate=args.truncate, strict=args.strict,
                                 engine=args.engine)
    except ScrubError:
        raise  # RootNotFound, NotASystemRoot: their own words
    except OSError as exc:
        raise ScrubError(f"cannot read the root: {exc.strerror or exc}", path=args.root) from None
    statuses = {i.status for i in report.items}
    if args.check:  # a place that could not be looked at is never "clean"
        code = ExitCode.FINDINGS if report.remaining or report.errors else ExitCode.OK
    elif report.refused_for_safety or any(i.result and any(e.code == "strict" for e in i.result.errors) for i in report.items):
        code = ExitCode.REFUSED
    elif statuses & {"failed", "refused", "interrupted"} or report.errors:
        code = ExitCode.FINDINGS
    else:
        code = ExitCode.OK
    if args.json:
        print(envelope("histories", "ok" if code == 0 else ("refused" if code == 3 else "findings"), code, report.to_json(),
                       [{"code": "unreadable", "message": m, "path": display(p)} for p, m in report.errors]))
    else:
        _print_histories(report)
    return code


_DONE_WORDS = {"erase": "erased", "truncate": "overwritten and truncated", "remove-link": "link removed (target untouched)",
               "keep-link": "left alone"}


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _dry_word(item) -> str:
    """What a dry run would do with an item, in the words of the summary."""
    if item.status == "planned":
        return {"erase": "to erase", "truncate": "to truncate", "remove-link": "links to remove"}.get(item.action, "to erase")
    return "to skip"


def _print_histories(report) -> None:
    what = {"erase": "overwrite (3 random passes, verified), then remove", "truncate": "overwrite, then truncate in place",
            "dry-run": "dry run: nothing is changed", "check": "check: read-only"}[report.mode]
    print(f"histories of {display(report.root)} ({what})")
    by_user: dict = {}
    for item in report.items:
        by_user.setdefault(item.user, []).append(item)
    for user, items in by_user.items():
        done = [i for i in items if i.status == "done" and i.action in ("erase", "truncate")]
        nbytes = sum(i.size for i in done)
        print(f"{user}: {len(done)} erased ({plural(nbytes, 'byte')})" if report.mode in ("erase", "truncate") else f"{user}:")
        for i in items:
            if report.mode == "check":
                state = "still there" if i in report.remaining else i.reason
            elif i.status == "planned":
                state = f"would {i.action.replace('-', ' ')}"
            elif i.status == "done":
                state = _DONE_WORDS.get(i.action, "done") if i.action != "keep-link" else i.reason
                risky = sorted({f.id for f in (i.result.findings if i.result else []) if f.severity in ("ineffective", "uncertain")})
                if risky:  # overwritten in place, but the storage may hold another copy: say so here too
                    state += f" (a copy may survive: {', '.join(risky)}; see storage below)"
            else:
                state = f"{i.status}: {i.reason}"
            link = f" -> {display(i.link_target)}" if i.link_target is not None else ""
            print(f"  {display(i.path)}{link}  {state}")
            for w in (i.result.warnings if i.result else []):
                print(f"    warning: {w.message}")
    if report.writers:
        print("live writers (they write a history when they exit):")
        for w in report.writers:
            tag = " [started scrub]" if w.ancestor else ""
            print(f"  pid {w.pid} {w.name} ({w.user}) will write {display(w.will_write)}{tag}")
    if report.remedy:
        print("remedy: " + report.remedy.replace("\n", "\n        "))
    if report.refused_for_safety:
        print(f"refused (--strict): {report.refused_for_safety}; nothing was changed", file=sys.stderr)
    storage = report.storage_summary()
    if storage:
        print("storage: copies of erased files may survive; before the image is taken:")
        for e in storage:
            print(f"  [{e['severity']}] {e['id']} ({e['layer']}), {plural(e['files'], 'file')}: {e['survives']}")
            print(f"      do: {e['remedy']}")
    n = len(report.items)
    if report.mode == "check":
        left = len(report.remaining)
        print(f"check: {'no history with content is left' if not left else plural(left, 'history file') + ' with content left'}")
    else:
        counts: dict = {}
        for i in report.items:
            word = _dry_word(i) if report.mode == "dry-run" else i.status
            counts[word] = counts.get(word, 0) + 1
        print("summary: " + (", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no history files found")
              + (f" of {n}" if n else "") + f"; live writers: {len(report.writers)}")
    for p, m in report.errors:
        print(f"partial: {display(p)}: {m}", file=sys.stderr)


# --------------------------------------------------------------------------------------
# manifest


def _add_manifest(sub) -> None:
    p = sub.add_parser("manifest", help="an exclude list for a bundler (ec2-bundle-vol, rsync, tar, mksquashfs, JSON)",
                       description="Scan the root and write an exclude manifest that the bundler reads exactly as "
                       "meant; names the format cannot express are refused with the reason (or widened with --widen).")
    _add_root(p)
    p.add_argument("--format", required=True, choices=("ec2-bundle-vol", "rsync", "tar", "mksquashfs", "json"))
    p.add_argument("-o", "--output", type=os.fsencode, help="write the manifest to FILE (default stdout)")
    p.add_argument("--class", dest="classes", action="append", choices=("history", "secret", "grant", "identity", "privacy"),
                   help="classes to exclude (repeatable; default history, secret, grant)")
    p.add_argument("--add", action="append", default=[], type=os.fsencode, metavar="PATH",
                   help="also exclude PATH (inside the root; repeatable)")
    p.add_argument("--dirs", action="store_true", help="exclude stash directories secret as a whole (~/.aws, ~/.gnupg ...)")
    p.add_argument("--widen", action="store_true",
                   help="write names the format cannot express as wider patterns (said on stderr) instead of refusing them")
    p.add_argument("--deep", action="store_true", help="scan every regular file's content too")
    p.set_defaults(func=_cmd_manifest)


def _cmd_manifest(args) -> int:
    from scrub.manifest import DEFAULT_CLASSES, manifest

    try:
        em = manifest(args.root, args.format, classes=tuple(args.classes or DEFAULT_CLASSES), add=args.add, dirs=args.dirs,
                      widen=args.widen, deep=args.deep)
    except ScrubError:
        raise  # RootNotFound, NotASystemRoot: their own words
    except OSError as exc:
        raise ScrubError(f"cannot scan: {exc.strerror or exc}", path=args.root) from None
    code = ExitCode.FINDINGS if em.refused else ExitCode.OK
    data = em.data
    if args.format == "json":
        import json as _json

        doc = _json.loads(data)
        data = (envelope("manifest", "ok" if code == 0 else "refused-entries", code, doc) + "\n").encode()
    if args.output:
        with open(args.output, "wb") as fh:
            fh.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    err = sys.stderr
    print(f"manifest ({em.format}): {len(em.written)} entries written"
          + (f", {len(em.refused)} REFUSED" if em.refused else "") + (f", {len(em.widened)} widened" if em.widened else "")
          + (f", {len(em.dropped)} dropped (gone)" if em.dropped else ""), file=err)
    for e, why in em.refused:
        hint = "" if e.cls == "manual" else " (erase it, or rename it, or use --widen)"
        print(f"  refused: {display(e.path)}: {why}{hint}", file=err)
    for e, pat, why in em.widened:
        print(f"  widened: {display(e.path)} written as {display(pat)}: {why}", file=err)
    for e, why in em.dropped:
        print(f"  dropped: {display(e.path)}: {why}", file=err)
    if em.command:
        print(f"  run: {em.command}", file=err)
    for note in em.notes:
        print(f"  note: {note}", file=err)
    return code


# --------------------------------------------------------------------------------------
# audit


def _add_audit(sub) -> None:
    p = sub.add_parser("audit", help="check the shared-AMI guidelines (read-only)",
                       description="Check a live system or a mounted image against the shared-AMI guidelines "
                       "(AWS, and the Marketplace policy grown from them). Read-only: it changes nothing.")
    _add_root(p)
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when a check fails (report only)")
    p.set_defaults(func=_cmd_audit)


def _cmd_audit(args) -> int:
    from scrub.audit import audit

    try:
        report = audit(args.root)
    except ScrubError:
        raise  # RootNotFound, NotASystemRoot: their own words
    except OSError as exc:
        raise ScrubError(f"cannot audit: {exc.strerror or exc}", path=args.root) from None
    code = ExitCode.FINDINGS if report.failed and not args.exit_zero else ExitCode.OK
    if args.json:
        print(envelope("audit", "fail" if report.failed else "ok", code, report.to_json(),
                       [{"code": "unreadable", "message": e} for e in report.errors]))
        return code
    print(f"audit of {display(report.root)} (shared-AMI guidelines; read-only)")
    for c in report.checks:
        print(f"{c.number:>2} [{c.status}] {c.id}: {c.title}")
        for e in c.evidence[:12]:
            print(f"       {e}")
        if len(c.evidence) > 12:
            print(f"       ... and {len(c.evidence) - 12} more (--json lists all)")
        if c.fix and c.status != "pass":
            print(f"     fix: {c.fix}")
    counts = report.to_json()["summary"]
    print("summary: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    for e in report.errors:
        print(f"partial: {e}", file=sys.stderr)
    return code


# --------------------------------------------------------------------------------------
# info


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="version and overwrite engine")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_info)


def _engine_line() -> str:
    if scrub.HAVE_NATIVE:
        return scrub.engine("native").describe()
    return f"python fallback (shake256-ctr): {scrub.UNAVAILABLE_REASON}"


def _cmd_info(args) -> int:
    data = {"version": scrub.__version__, "native": scrub.HAVE_NATIVE, "engine": _engine_line(),
            "native_unavailable_reason": scrub.UNAVAILABLE_REASON}
    if args.json:
        print(envelope("info", "ok", 0, data))
    else:
        print(f"scrub {scrub.__version__}\nengine: {data['engine']}")
    return ExitCode.OK


# --------------------------------------------------------------------------------------


BUILDERS: list[Callable] = [_add_audit, _add_shred, _add_storage, _add_scan, _add_histories, _add_manifest, _add_info]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Overwrite, find and audit what must not ship in a shared image.")
    parser.add_argument("--version", action="version", version=f"scrub {scrub.__version__} (engine: {_engine_line()})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in BUILDERS:
        add(sub)
    parser.subcommands = sub.choices  # shred is parsed on its own, as GNU getopt reads it
    return parser


GNU_SHRED_LONG = ("exact", "force", "help", "iterations", "random-source", "remove", "size", "verbose", "version",
                  "zero")


def _shred_argv(argv: list[str], known: set[str]) -> list[str]:
    """GNU's reading of shred's long options, before argparse sees them: an abbreviation
    that names one GNU option is that option even where a scrub-only one shares the prefix
    (``--s`` is --size, not --scheme or --strict; ``--e`` is --exact, not --engine); a bare
    ``--remove`` is --remove=wipesync and never takes the next word (a file named "unlink"
    stays a file); after ``--`` every word is a file."""
    out, ended = [], False
    for a in argv:
        if ended or not a.startswith("--") or a == "--":
            ended = ended or a == "--"
            out.append(a)
            continue
        name, eq, value = a[2:].partition("=")
        full = name if name in known else None
        if full is None:
            gnu = [o for o in GNU_SHRED_LONG if o.startswith(name)]
            full = gnu[0] if len(gnu) == 1 else None
        if full == "remove" and not eq:
            out.append("--remove=wipesync")
        else:
            out.append(f"--{full}{eq}{value}" if full else a)
    return out


def _parse_shred(parser: argparse.ArgumentParser, argv: list[str]):
    """shred's arguments as GNU getopt reads them: options anywhere among the files."""
    shred_parser = parser.subcommands["shred"]
    known = {o[2:] for act in shred_parser._actions for o in act.option_strings if o.startswith("--")}  # noqa: SLF001
    words = _shred_argv(argv, known)
    after = []
    if "--" in words:  # every word after "--" is a file (argparse's intermixed parsing would still read options)
        k = words.index("--")
        words, after = words[:k], words[k + 1:]
    shred_parser.words = words
    args, unknown = shred_parser.parse_known_intermixed_args(words)
    if unknown:
        shred_parser.unknown(unknown[0])
    args.paths = list(args.paths) + [os.fsencode(a) for a in after]
    args.command = "shred"
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    shred = bool(argv) and argv[0] == "shred"
    try:
        args = _parse_shred(parser, argv[1:]) if shred else parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code in (0, None):
            return ExitCode.OK
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        return SHRED_FAILURE if shred else ExitCode.USAGE
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        try:
            return args.func(args)
        except ScrubError as exc:
            code = SHRED_FAILURE if args.command == "shred" else ExitCode.USAGE
            if getattr(args, "json", False):
                print(envelope(args.command, "error", code, None, [{"code": type(exc).__name__, "message": str(exc)}]))
            elif args.command == "shred":  # GNU's form: "shred: FILE: message", the file quoted as GNU quotes it
                where = f"{shell_quote(exc.path)}: " if getattr(exc, "path", None) is not None else ""
                hint = f"\n{_shred_try()}" if exc.message == "missing file operand" else ""
                print(f"{PROG} shred: {where}{exc.message}{hint}", file=sys.stderr)
            else:
                print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
            return code
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # the reader went away (| head): exit quietly, as cat does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.FINDINGS
