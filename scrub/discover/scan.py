"""scan(): find history files and credential stashes for every user of a root.

Default scope: every home named in <root>/etc/passwd, walked by name (nothing is read but
what a catalog entry names), plus the system credential locations.  ``deep`` walks the whole
root and sniffs the head of every regular file.  The walk never follows a symlink, never
leaves the root, skips pseudo and network file systems, and reports what it could not read.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import os
import re
import stat
import time
from dataclasses import dataclass, field

from scrub._paths import display, to_json
from scrub.discover import catalog, safefs, signatures
from scrub.discover.catalog import Entry
from scrub.exceptions import RootNotFound
from scrub.discover.users import LIST_VARS, OFF_VALUES, User, users_of

PSEUDO_FS = {"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs", "tracefs", "pstore",
             "bpf", "configfs", "fusectl", "mqueue", "hugetlbfs", "binfmt_misc", "autofs", "efivarfs", "rpc_pipefs",
             "nsfs", "selinuxfs", "ramfs"}
REMOTE_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "9p", "glusterfs", "afs", "sshfs"}
LIVE_SKIP = {b"proc", b"sys", b"dev", b"run"}
BENIGN_LINK_TARGETS = {b"/dev/null"}


@dataclass
class Finding:
    user: str  # the account whose home holds it, or "system"
    path: bytes  # absolute path inside the root
    cls: str  # history | secret | grant | identity | privacy
    catalog_id: str | None  # None: found by content alone (--deep)
    kind: str  # file | dir | symlink
    size: int = 0
    signals: list = field(default_factory=list)
    link_target: bytes | None = None
    benign: bool = False  # reported but harmless (a history symlinked to /dev/null)
    via: str = ""  # the variable whose value named it ("" : a catalog path)
    home: bytes | None = None  # the home it was found in (its user's real home), None outside homes

    @property
    def app(self) -> str:
        return catalog.BY_ID[self.catalog_id].app if self.catalog_id else "content signature"

    @property
    def evidence(self) -> str:
        parts = [s.evidence for s in self.signals if s.secret]
        if self.kind == "symlink":
            parts.insert(0, f"symbolic link to {display(self.link_target or b'')} (not followed)")
        if not parts:
            parts = [f"{self.kind} named like {self.app}" + (f", {self.size} bytes" if self.kind == "file" else "")]
        return "; ".join(parts)

    @property
    def fingerprint(self) -> str:
        rule = self.catalog_id or ",".join(sorted({s.id for s in self.signals if s.secret}))
        return hashlib.sha256(b"scrub-finding-v1\0" + self.path + b"\0" + rule.encode()).hexdigest()[:16]

    def to_json(self) -> dict:
        doc = to_json(self.path)
        doc.update(user=self.user, cls=self.cls, catalog_id=self.catalog_id, app=self.app, kind=self.kind, size=self.size,
                   evidence=self.evidence, fingerprint=self.fingerprint, benign=self.benign,
                   signals=[s.to_json() for s in self.signals])
        if self.via:
            doc["via"] = self.via
        if self.link_target is not None:
            doc["link_target"] = to_json(self.link_target)["path"]
        return doc


@dataclass
class ScanReport:
    root: bytes
    deep: bool
    users: list[User] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[tuple[bytes, str]] = field(default_factory=list)  # places that could not be read
    skipped: list[tuple[bytes, str]] = field(default_factory=list)  # named like a stash, not a regular file
    entries: int = 0
    classified: int = 0
    seconds: float = 0.0

    @property
    def partial(self) -> bool:
        return bool(self.errors)

    def counted(self) -> list[Finding]:
        """The findings that make a root unfit to ship (benign links excluded)."""
        return [f for f in self.findings if not f.benign]

    def to_json(self) -> dict:
        return {
            "root": to_json(self.root)["path"], "deep": self.deep, "partial": self.partial,
            "users": [{"name": u.name, "uid": u.uid, "home": to_json(u.home)["path"]} for u in self.users],
            "findings": [f.to_json() for f in self.findings],
            "errors": [{**to_json(p), "message": m} for p, m in self.errors],
            "skipped": [{**to_json(p), "reason": m} for p, m in self.skipped],
            "summary": {"findings": len(self.counted()), "by_class": _by_class(self.counted()), "entries_walked": self.entries,
                        "files_classified": self.classified, "seconds": round(self.seconds, 3)},
        }


def _by_class(findings) -> dict:
    out: dict[str, int] = {}
    for f in findings:
        out[f.cls] = out.get(f.cls, 0) + 1
    return out


# ---------------------------------------------------------------------------------------
# Pattern matching


def _glob_regex(pattern: str) -> str:
    """A glob over '/'-separated paths: * and ? stay inside a component, **/ spans any depth."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
            continue
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 2)
            if j < 0:
                out.append(re.escape(c))
            else:  # a set of literal characters (glob_escape makes "[*]"); never a bad range
                body = pattern[i + 1:j]
                neg = body.startswith("!")
                out.append("[" + ("^" if neg else "") + "".join(re.escape(ch) for ch in body[neg:]) + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _literal_ends(glob: str) -> tuple[str, str]:
    """The literal text before the first and after the last wildcard of a glob."""
    first = min((glob.index(c) for c in "*?[" if c in glob), default=len(glob))
    last = max((glob.rindex(c) for c in "*?]" if c in glob), default=-1)
    return glob[:first], glob[last + 1:]


class Matcher:
    """Compiled patterns for one home (XDG placeholders and variables resolved) or for the
    system.  Rules are bucketed by their last component (a literal name, a literal prefix
    or a literal suffix), so deciding that an entry matches nothing costs a few dict
    look-ups; the full path is only built and matched for the few candidates."""

    def __init__(self, rules: list[tuple[str, Entry]]):
        self.literal: dict[str, list] = {}
        self.prefix: dict[str, list] = {}
        self.suffix: dict[str, list] = {}
        self.bydir: dict[str, list] = {}  # "dir/*"-style rules, keyed by their literal directory
        self.other: list = []
        for pattern, entry in rules:
            base = pattern.rsplit("/", 1)[-1]
            full = re.compile(_glob_regex(pattern) + r"\Z", re.S)
            if not any(c in base for c in "*?["):
                self.literal.setdefault(base, []).append((full, entry))
                continue
            pre, suf = _literal_ends(base)
            if len(pre) >= 2:
                self.prefix.setdefault(pre[:2], []).append((full, entry))
            elif len(suf) >= 3:
                self.suffix.setdefault(suf[-3:], []).append((full, entry))
            elif "/" in pattern and not any(c in pattern.rsplit("/", 1)[0] for c in "*?[{"):
                self.bydir.setdefault(pattern.rsplit("/", 1)[0] + "/", []).append((full, entry))
            else:
                self.other.append((full, entry))

    def match(self, name: str, prefix: str) -> list[Entry]:
        cands = self.literal.get(name)
        more = self.prefix.get(name[:2])
        tail = self.suffix.get(name[-3:])
        indir = self.bydir.get(prefix) if self.bydir else None
        if cands is None and more is None and tail is None and indir is None and not self.other:
            return []
        rel = prefix + name
        out = []
        for group in (cands, more, tail, indir, self.other):
            if group:
                out.extend(e for rx, e in group if rx.match(rel) and e not in out)
        return out


XDG_PLACEHOLDERS = {"{data}": "XDG_DATA_HOME", "{state}": "XDG_STATE_HOME", "{config}": "XDG_CONFIG_HOME",
                    "{cache}": "XDG_CACHE_HOME"}


def home_rules(user: User, classes: set[str], entries=None) -> tuple[list[tuple[str, Entry]], list[tuple[str, Entry]]]:
    """(home-relative rules, absolute rules) for one user: catalog patterns with the user's
    XDG directories, plus files that variables move elsewhere.  Values are confined already
    (users.confine): home-relative, or absolute only when a root-owned system file set them;
    they are glob-escaped here, so a value is always a literal path, never a pattern."""
    rel, absolute = [], []
    xdg = {ph: glob_escape(os.fsdecode(user.xdg(var))) for ph, var in XDG_PLACEHOLDERS.items()}
    for e in entries if entries is not None else catalog.HISTORIES + catalog.CREDENTIALS:
        if e.cls not in classes:
            continue
        for p in e.patterns:
            for ph, value in xdg.items():
                p = p.replace(ph, value)
            (absolute if p.startswith("/") else rel).append((p, e))
        for var in e.env:
            raw = user.env.get(var)
            if raw is None:
                continue
            for value in (raw.split(b":") if var in LIST_VARS else [raw]):
                if value in OFF_VALUES:
                    continue
                if var == "ZDOTDIR":
                    value = value.rstrip(b"/") + b"/.zsh_history"
                elif var in ("DOCKER_CONFIG",):
                    value = value.rstrip(b"/") + b"/config.json"
                text = glob_escape(os.fsdecode(value))
                (absolute if text.startswith("/") else rel).append((text, dataclasses.replace(e, via=var)))
    return rel, absolute


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


# ---------------------------------------------------------------------------------------
# The scan


def open_root(root: bytes) -> int:
    """An fd of the root directory; RootNotFound (a ScrubError and a FileNotFoundError) if
    it is missing or not a directory."""
    try:
        return os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        raise RootNotFound("the root does not exist or is not a directory", path=root) from None


class Scanner:
    def __init__(self, root: str | bytes = "/", *, deep: bool = False, classes=None, entries=None, system: bool = True):
        self.root = os.fsencode(root)
        self.deep = deep
        self.classes = set(catalog.class_list(classes))
        self.entries = tuple(entries) if entries is not None else catalog.HISTORIES + catalog.CREDENTIALS
        self.system = system
        self.report = ScanReport(self.root, deep)
        self.root_fd = open_root(self.root)
        self.live = os.path.realpath(self.root) == b"/"
        self._skip_devs = self._pseudo_devices()
        self._seen: set[bytes] = set()

    def close(self):
        os.close(self.root_fd)

    def _pseudo_devices(self) -> set[int]:
        """st_dev of pseudo and remote file systems mounted inside the root."""
        try:
            from scrub.storage.mounts import mounts

            real = os.path.realpath(self.root).rstrip(b"/") + b"/"
            out = set()
            for m in mounts():
                mp = os.fsencode(m.mountpoint).rstrip(b"/") + b"/"
                if mp.startswith(real) and (m.fstype in PSEUDO_FS or m.fstype in REMOTE_FS or m.fstype.startswith("fuse.")):
                    out.add(os.makedev(m.major, m.minor))
            return out
        except Exception:  # no /proc: prune by name only
            return set()

    def _error(self, where: bytes, exc: OSError) -> None:
        self.report.errors.append((where, exc.strerror or str(exc)))

    def run(self) -> ScanReport:
        """Raises scrub.NotASystemRoot when the root has no etc/passwd."""
        t0 = time.monotonic()
        problems: list[tuple[bytes, str]] = []
        users = users_of(self.root_fd, problems)
        self.report.errors.extend(problems)
        self.report.users = users
        homes = {}
        # users with the same XDG settings and variables share their rules and one matcher
        matchers: dict[tuple, tuple[Matcher, list]] = {}
        for user in users:
            for ptr in user.pointers:
                self.report.errors.append((ptr.value, ptr.message()))
            key = tuple(sorted(user.env.items()))
            try:
                if key not in matchers:
                    rel, absolute = home_rules(user, self.classes, self.entries)
                    matchers[key] = (Matcher(rel), absolute)
            except (re.error, ValueError, IndexError) as exc:  # one user's odd value is that user's error
                self.report.errors.append((user.home, f"{user.name}: rules could not be built ({exc}); home not searched"))
                continue
            matcher, absolute = matchers[key]
            homes[user.real_home.rstrip(b"/") or b"/"] = (user, matcher)
            self._glob_absolute(absolute, user.name, user)
        system = [(p, e) for e in catalog.SYSTEM if e.cls in self.classes for p in e.patterns] if self.system else []
        if self.deep:
            self._walk_root(homes, Matcher(system))
        else:
            for home, (user, matcher) in homes.items():
                self._walk_home(home, user, matcher)
            self._glob_absolute(system, "system")
        self.report.findings.sort(key=lambda f: (f.user != "system", f.user, f.cls, f.path))
        self.report.seconds = time.monotonic() - t0
        return self.report

    # -- walking ---------------------------------------------------------------------------

    def _walk_home(self, home: bytes, user: User, matcher: Matcher) -> None:
        try:
            hfd = safefs.open_in_root(self.root_fd, home)
        except OSError as exc:
            self._error(home, exc)
            return
        base = os.fsdecode(home) + "/"
        skip = self._skip_devs
        n = 0
        try:  # same_device: a mount below the home (bind, automount, a user's FUSE) is reported, not entered
            for dfd, prefix, name, kind in safefs.walk(hfd, on_error=lambda p, e: self._error(os.fsencode(base + p), e),
                                                       prune=lambda rel, st: st.st_dev in skip, same_device=True):
                n += 1
                hits = matcher.match(name, prefix)
                if hits:
                    self._handle(dfd, name, kind, os.fsencode(base + prefix + name), hits, user.name, user)
        finally:
            os.close(hfd)
            self.report.entries += n

    def _walk_root(self, homes: dict, system: Matcher) -> None:
        by_home = {os.fsdecode(h).lstrip("/") + "/": v for h, v in homes.items()}
        by_user = {u.name: u for u, _ in homes.values()}
        prefixes = sorted(by_home, key=len, reverse=True)
        skip, live = self._skip_devs, self.live

        def prune(rel: str, st: os.stat_result) -> bool:
            return st.st_dev in skip or (live and "/" not in rel and rel.encode() in LIVE_SKIP)

        n = 0
        last = None
        owner, matcher, home_rel, sys_prefix = "system", None, "", "/"
        for dfd, prefix, name, kind in safefs.walk(self.root_fd, on_error=lambda p, e: self._error(os.fsencode("/" + p), e),
                                                   prune=prune):
            n += 1
            if prefix is not last:  # a new directory: who owns it, and which rules apply
                last = prefix
                owner, matcher, home_rel, sys_prefix = "system", None, "", "/" + prefix
                for home in prefixes:
                    if prefix.startswith(home):
                        user, matcher = by_home[home]
                        owner, home_rel = user.name, prefix[len(home):]
                        break
            hits = system.match(name, sys_prefix)
            if matcher is not None:
                hits = matcher.match(name, home_rel) + hits
            if hits:
                self._handle(dfd, name, kind, os.fsencode(sys_prefix + name), hits, owner, by_user.get(owner))
            elif kind == "file":
                self._sniff(dfd, name, sys_prefix, owner)
        self.report.entries += n

    def _glob_absolute(self, rules: list[tuple[str, Entry]], owner: str, user: User | None = None) -> None:
        """Expand absolute patterns from the root, one component at a time (no links)."""
        for pattern, entry in rules:
            parts = [p for p in pattern.split("/") if p not in ("", ".")]
            if ".." in parts:
                self.report.errors.append((os.fsencode(pattern), "a path with '..': not followed"))
                continue
            self._glob(self.root_fd, b"", parts, entry, owner, user)

    def _glob(self, dfd: int, prefix: bytes, parts: list[str], entry: Entry, owner: str, user: User | None) -> None:
        head, rest = parts[0], parts[1:]
        if any(c in head for c in "*?[") and not entry.via:
            try:
                names = [n for n in os.listdir(dfd) if fnmatch.fnmatchcase(n, head)]
            except OSError:
                return
        else:  # a literal (a variable's value is always literal, its escapes undone)
            names = [re.sub(r"\[([*?\[])\]", r"\1", head)]
        for name in sorted(names):
            st = safefs.lstat_at(dfd, os.fsencode(name))
            if st is None:
                continue
            path = prefix + b"/" + os.fsencode(name)
            if not rest:
                self._handle(dfd, name, safefs.kind_of_mode(st.st_mode), path, [entry], owner, user)
            elif stat.S_ISDIR(st.st_mode):
                try:
                    sub = os.open(name, safefs.O_DIR, dir_fd=dfd)
                except OSError as exc:
                    self._error(path, exc)
                    continue
                try:
                    self._glob(sub, path, rest, entry, owner, user)
                finally:
                    os.close(sub)

    # -- one entry -------------------------------------------------------------------------

    def _handle(self, dfd: int, name: str, kind: str, path: bytes, hits: list[Entry], owner: str,
                user: User | None = None) -> None:
        if path in self._seen:
            return  # matched already (an absolute rule and a home rule can name the same file)
        self._seen.add(path)
        hits = sorted(hits, key=lambda e: bool(e.via))  # a catalog path outranks a variable's say-so
        inside = user is not None and path.startswith(user.real_home.rstrip(b"/") + b"/")
        home = user.real_home if inside else None
        if hits[0].via and inside:
            st = safefs.lstat_at(dfd, os.fsencode(name))
            if st is not None and st.st_uid != user.uid and kind != "dir":
                # a variable names what the user does not own: never read it on the user's say-so
                self.report.errors.append((path, f"{user.name}'s {hits[0].via} names a {kind} owned by uid {st.st_uid}, "
                                                 f"not by {user.name}: not read, not touched"))
                return
        if kind == "symlink":
            try:
                target = os.readlink(os.fsencode(name), dir_fd=dfd)
            except OSError:
                target = b""
            e = hits[0]
            self.report.findings.append(Finding(owner, path, e.cls, e.id, "symlink", link_target=target,
                                                benign=target in BENIGN_LINK_TARGETS, via=e.via, home=home))
            return
        if kind == "dir":
            e = next((h for h in hits if h.directory), None)
            if e is not None:
                size = self._dir_content(dfd, name, path)
                self.report.findings.append(Finding(owner, path, e.cls, e.id, "dir", size, via=e.via, home=home,
                                                    benign=size == 0))
            return
        if kind != "file":
            self.report.skipped.append((path, f"named like {hits[0].app} but a {kind}, not a regular file"))
            return
        got = self._signals(dfd, name, signatures.CATALOG_HEAD)
        if got is None:
            return
        sigs, st = got
        ids = {s.id for s in sigs}
        for e in hits:
            if e.needs and not ids & set(e.needs):
                continue
            if st.st_size == 0:
                continue  # an empty file holds nothing (a truncated history, a placeholder)
            self.report.findings.append(Finding(owner, path, e.cls, e.id, "file", st.st_size,
                                                [s for s in sigs if s.secret] if not e.needs else
                                                [s for s in sigs if s.id in e.needs or s.secret], via=e.via, home=home))
            return
        if self.deep and any(s.secret for s in sigs):
            self.report.findings.append(Finding(owner, path, "secret", None, "file", st.st_size, [s for s in sigs if s.secret],
                                                home=home))

    def _dir_content(self, dfd: int, name: str, path: bytes) -> int:
        """Bytes in the regular files below a stash directory (0: nothing to erase; an empty
        ``~/.hishtory`` is not a history with content).  A part that cannot be walked counts
        as content, so a check never passes on what it could not see."""
        try:
            sub = os.open(name, safefs.O_DIR, dir_fd=dfd)
        except OSError as exc:
            self._error(path, exc)
            return 1
        total, trouble = 0, []
        try:
            for sdfd, _prefix, entry, kind in safefs.walk(sub, on_error=lambda p, e: trouble.append(p), same_device=True):
                if kind == "file":
                    st = safefs.lstat_at(sdfd, os.fsencode(entry))
                    total += st.st_size if st is not None else 0
                elif kind != "dir":
                    total += 1  # a link or special file: something to act on
        finally:
            os.close(sub)
        return total or (1 if trouble else 0)

    def _signals(self, dfd: int, name: str, limit: int):
        """(signals, stat) of a regular file's first ``limit`` bytes, or None if it is not one."""
        got = safefs.read_head(dfd, name, limit)
        if got is None:
            return None
        data, st = got
        self.report.classified += 1
        return signatures.classify(data, name=name, size=st.st_size), st

    def _sniff(self, dfd: int, name: str, dir_path: str, owner: str) -> None:
        got = self._signals(dfd, name, signatures.HEAD)
        if got is None:
            return
        sigs, st = got
        if sigs and any(s.secret for s in sigs):
            path = os.fsencode(dir_path + name)
            self.report.findings.append(Finding(owner, path, "secret", None, "file", st.st_size, [s for s in sigs if s.secret]))


def scan(root: str | bytes = "/", *, deep: bool = False, classes=None) -> ScanReport:
    """Histories and credential stashes of every user of ``root`` (a live system, or an
    image mounted at ``root``).  Returns a :class:`ScanReport`; raises OSError if ``root``
    cannot be opened."""
    scanner = Scanner(root, deep=deep, classes=classes)
    try:
        return scanner.run()
    finally:
        scanner.close()
