"""Exclude manifests that bundlers read exactly as meant.

Every bundler parses its exclude list differently (facts tested and recorded in
shared/reference/cleanup.md, section d).  One emitter per format writes each path so that
the bundler matches that path and nothing else; a name the format cannot express is refused
with the reason, or, only when asked (``widen``), written as a wider pattern and said so.
Paths are bytes from end to end.

An exclude list protects file-level bundling only: an EBS snapshot (CreateImage) copies
blocks, so what is excluded or deleted must also be erased.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field

from scrub._paths import as_path_list, display, to_json

FORMATS = ("ec2-bundle-vol", "rsync", "tar", "mksquashfs", "json")
WHITESPACE = b" \t\n\v\f\r"  # C isspace(): what tar strips at a line's end and mksquashfs at its start
DEFAULT_CLASSES = ("history", "secret", "grant")
# Directories that are secret as a whole: with ``dirs`` the directory is excluded, not its files
SECRET_DIRS = (b".aws", b".gnupg", b".password-store", b".azure", b".config/gcloud", b".kube", b".oci", b".ec2",
               b".docker")
LIMITS = ("An exclude list protects file-level bundling only (ec2-bundle-vol, rsync, tar, mksquashfs). An EBS "
          "snapshot (CreateImage) copies the volume's blocks, deleted and excluded files included: erase them too "
          "(python3 -m scrub shred / histories) and see python3 -m scrub storage for what overwriting can reach.")
EC2_WARNINGS = (
    "Give the list as one -e value: a second -e replaces the first.",
    "--no-filter (the default in Packer's instance-store builder) turns off ec2-bundle-vol's built-in filter.",
    "ec2-bundle-vol's built-in filter knows only *id_rsa* and *id_dsa*: ecdsa and ed25519 keys pass it; they are "
    "listed here when found.",
)


@dataclass
class Entry:
    path: bytes  # absolute inside the root, b"/home/alice/.bash_history"
    cls: str
    reason: str
    catalog_id: str | None = None
    directory: bool = False

    @property
    def rel(self) -> bytes:
        return self.path.lstrip(b"/")


@dataclass
class Emitted:
    """A manifest for one format, and what it could not say exactly."""

    format: str
    data: bytes
    written: list[Entry] = field(default_factory=list)
    refused: list[tuple[Entry, str]] = field(default_factory=list)
    widened: list[tuple[Entry, bytes, str]] = field(default_factory=list)  # entry, pattern written, why
    dropped: list[tuple[Entry, str]] = field(default_factory=list)  # gone since the scan
    notes: list[str] = field(default_factory=list)
    command: str = ""  # how to run the bundler with it
    null_separated: bool = False

    def to_json(self) -> dict:
        return {
            "format": self.format, "command": self.command, "null_separated": self.null_separated,
            "written": [_entry_json(e) for e in self.written],
            "refused": [{**_entry_json(e), "why": why} for e, why in self.refused],
            "widened": [{**_entry_json(e), "pattern": display(p), "why": why} for e, p, why in self.widened],
            "dropped": [{**_entry_json(e), "why": why} for e, why in self.dropped],
            "notes": self.notes,
        }


def _entry_json(e: Entry) -> dict:
    return {**to_json(e.path), "class": e.cls, "reason": e.reason, "catalog_id": e.catalog_id, "directory": e.directory}


# ---------------------------------------------------------------------------------------
# Entries


def entries_from_scan(report, *, classes=DEFAULT_CLASSES, dirs: bool = False, root: bytes | None = None) -> list[Entry]:
    """Manifest entries from a scan: one per finding of the chosen classes (benign links
    skipped), optionally folding stashes under directories that are secret as a whole."""
    out: list[Entry] = []
    for f in report.findings:
        if f.benign or f.cls not in classes:
            continue
        out.append(Entry(f.path, f.cls, f.evidence, f.catalog_id, f.kind == "dir"))
    if dirs:
        out = _fold_secret_dirs(out, {(u.real_home or u.home).rstrip(b"/") for u in report.users}, root or report.root)
    return sorted(out, key=lambda e: e.path)


def _fold_secret_dirs(entries: list[Entry], homes: set[bytes], root: bytes) -> list[Entry]:
    folded: dict[bytes, Entry] = {}
    rest = []
    for e in entries:
        home = next((h for h in homes if e.path.startswith(h + b"/")), None)
        top = None
        if home is not None:
            below = e.path[len(home) + 1:]
            top = next((d for d in SECRET_DIRS if below == d or below.startswith(d + b"/")), None)
        if top is None:
            rest.append(e)
            continue
        dpath = home + b"/" + top
        st = _lstat(root, dpath)
        if st is None or not _is_dir(st):
            rest.append(e)  # a link or not there: never widen to what it points at
            continue
        if dpath not in folded:
            folded[dpath] = Entry(dpath, e.cls, f"directory secret as a whole ({display(top)})", e.catalog_id, True)
    return rest + list(folded.values())


def _lstat(root: bytes, path: bytes):
    """lstat of ``path`` inside ``root``, no component followed (a link never leads out)."""
    from scrub.discover import safefs

    parts = [p for p in path.split(b"/") if p]
    if not parts or b".." in parts:
        return None
    try:
        fd = os.open(root, safefs.O_DIR & ~os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            nxt = os.open(part, safefs.O_DIR, dir_fd=fd)
            os.close(fd)
            fd = nxt
        return os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
    except OSError:
        return None
    finally:
        os.close(fd)


def _is_dir(st) -> bool:
    import stat

    return stat.S_ISDIR(st.st_mode)


def manual_entries(paths, cls: str = "manual", *, root: bytes = b"/") -> tuple[list[Entry], list[tuple[Entry, str]]]:
    """(entries, refused) for paths the administrator names (``--add``), each a path as it is
    inside the root.  A path is written as the bundler will see it (its directories' links
    resolved inside the root, the last component as it is); refused: what climbs out of the
    root with '..', what does not exist there, and a path given with the root's own prefix
    (``--add /mnt/img/etc/shadow`` for root /mnt/img: ambiguous, and it would match nothing)."""
    from scrub.discover import safefs

    root = os.fsencode(root)
    entries, refused = [], []
    real_root = os.path.realpath(root).rstrip(b"/")
    for p in as_path_list(paths, "add"):
        raw = os.fsencode(p)
        e = Entry(raw, cls, "added by hand")
        parts = [x for x in raw.split(b"/") if x not in (b"", b".")]
        if not parts or b".." in parts:
            refused.append((e, "an --add path must be a path inside the root, without '..'"))
            continue
        if real_root and (raw.startswith(root.rstrip(b"/") + b"/") or raw.startswith(real_root + b"/")):
            refused.append((e, f"given with the root's own prefix ({display(root)}): give it as it is inside the root, "
                               f"e.g. /{display(b'/'.join(parts[len([x for x in root.split(b'/') if x]):]))}"))
            continue
        try:
            rfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            refused.append((e, f"the root cannot be opened: {exc.strerror}"))
            continue
        try:
            parent = safefs.real_path_in_root(rfd, b"/" + b"/".join(parts[:-1])) if parts[:-1] else b"/"
        except OSError as exc:
            refused.append((e, f"not found inside the root: {exc.strerror}"))
            continue
        finally:
            os.close(rfd)
        path = parent.rstrip(b"/") + b"/" + parts[-1]
        st = _lstat(root, path)
        if st is None:
            refused.append((e, "does not exist inside the root: an exclude for it would match nothing"))
            continue
        entries.append(Entry(path, cls, "added by hand", directory=_is_dir(st)))
    return entries, refused



# ---------------------------------------------------------------------------------------
# Emitters


def _escape(name: bytes, chars: bytes) -> bytes:
    out = bytearray()
    for b in name:
        if b in chars:
            out += b"\\"
        out.append(b)
    return bytes(out)


def emit_tar(entries: list[Entry], *, widen: bool = False) -> Emitted:
    """GNU tar -X for ``tar --anchored -C ROOT -cf OUT.tar .`` (members are ./path).

    Newline-separated, no comments; wildcards on (matching '/'), so \\ * ? [ are escaped;
    trailing whitespace (isspace: space, tab, CR, VT, FF) is stripped from each line, so a
    name ending in one is refused, or widened to '?'; a newline cannot be written (refused,
    or '?')."""
    out = Emitted("tar", b"", command="tar --anchored -X MANIFEST -C ROOT -cf image.tar .")
    lines = []
    for e in entries:
        pat = b"./" + _escape(e.rel, b"\\*?[")
        why = []
        if b"\n" in pat:
            why.append("a newline cannot be written in a line-based list")
            pat = pat.replace(b"\n", b"?")
        trail = len(pat) - len(pat.rstrip(WHITESPACE))
        if trail:
            why.append("tar strips trailing whitespace (space, tab, CR, VT, FF) from each line")
            pat = pat[:len(pat) - trail] + b"?" * trail
        if b"\r" in pat:
            why.append("a CR inside a name")
            pat = pat.replace(b"\r", b"?")
        if why and not widen:
            out.refused.append((e, "; ".join(why)))
            continue
        if why:
            out.widened.append((e, pat, "; ".join(why) + ": '?' matches any one character there"))
        lines.append(pat)
        out.written.append(e)
    out.data = b"".join(line + b"\n" for line in lines)
    out.notes.append("members must be named ./path: run tar as the command shows (-C ROOT and '.')")
    return out


def emit_rsync(entries: list[Entry], *, widen: bool = False) -> Emitted:
    """rsync --exclude-from for ``rsync -a --exclude-from=MANIFEST ROOT/ DEST/``.

    Each rule is ``- /path`` (the prefix makes leading #, ;, !, + and - literal, the / anchors
    at the transfer root); \\ * ? [ are escaped only when the name holds * ? or [ (otherwise
    rsync compares literally and a backslash is itself).  A name with a newline or CR makes
    the whole list NUL-separated (--from0)."""
    null = any(b"\n" in e.path or b"\r" in e.path for e in entries)
    out = Emitted("rsync", b"", null_separated=null,
                  command=f"rsync -a{' --from0' if null else ''} --exclude-from=MANIFEST ROOT/ DEST/")
    rules = []
    for e in entries:
        rel = e.rel
        pat = _escape(rel, b"\\*?[") if any(c in rel for c in b"*?[") else rel
        rules.append(b"- /" + pat)
        out.written.append(e)
    sep = b"\0" if null else b"\n"
    out.data = b"".join(r + sep for r in rules)
    if null:
        out.notes.append("a name holds a newline or CR: the list is NUL-separated, give rsync --from0")
    return out


def emit_mksquashfs(entries: list[Entry], *, root: bytes = b"", widen: bool = False) -> Emitted:
    """mksquashfs -ef for ``mksquashfs ROOT image.sqfs -ef MANIFEST`` (literal paths, no
    -wildcards): one path per line, relative to ROOT; leading whitespace is stripped, a line
    starting with # is a comment (seen with mksquashfs 4.5.1), a trailing CR is kept,
    backslash and * are literal; a newline cannot be written.  A path that would begin with
    whitespace or # is written as the absolute host path (ROOT/path) instead."""
    out = Emitted("mksquashfs", b"", command="mksquashfs ROOT image.sqfs -ef MANIFEST")
    lines = []
    for e in entries:
        if b"\n" in e.path:
            out.refused.append((e, "a newline cannot be written in -ef (mksquashfs reads one path per line)"))
            continue
        line = e.rel
        if line[:1] and line[0] in WHITESPACE + b"#":
            if not root:
                out.refused.append((e, "mksquashfs strips leading whitespace and skips # lines, and no root was given "
                                    "for an absolute path"))
                continue
            line = os.path.realpath(root).rstrip(b"/") + b"/" + line
            out.notes.append(f"{display(e.path)}: written as an absolute host path (a relative line would begin with "
                             "whitespace or #)")
        lines.append(line)
        out.written.append(e)
    out.data = b"".join(line + b"\n" for line in lines)
    out.notes.append("mksquashfs ignores entries that do not exist, silently: build from the root the manifest was made for")
    return out


_EC2_GLOB = b"\\*?[]{}"


def emit_ec2_bundle_vol(entries: list[Entry], *, root: bytes = b"/", widen: bool = False) -> Emitted:
    """One ``-e`` value for ec2-bundle-vol (volume = ROOT).

    The value is split on every comma (no escape) and each item must glob-match an existing
    path (Ruby Dir.glob: \\ escapes, * ? [ ] { } are syntax), then goes to rsync inside single
    quotes in a /bin/sh command.  So: \\ * ? [ ] { } are backslash-escaped; an item with an
    escape gets its last character bracketed so rsync is in wildcard mode and honours the
    escapes; commas and single quotes cannot be written (refused, or '?'); every item must
    exist now."""
    out = Emitted("ec2-bundle-vol", b"")
    items = []
    for e in entries:
        if _lstat(root, e.path) is None:
            out.dropped.append((e, "no longer exists (ec2-bundle-vol would abort on it)"))
            continue
        rel = b"/" + e.rel
        why = []
        if b"," in rel:
            why.append("ec2-bundle-vol splits -e on every comma, with no escape")
        if b"'" in rel:
            why.append("ec2-bundle-vol puts each item in single quotes in a shell command")
        if b"\n" in rel or b"\r" in rel:
            why.append("a newline in an item")
        item = _escape(rel, _EC2_GLOB)
        if why:
            if not widen:
                out.refused.append((e, "; ".join(why)))
                continue
            item = re.sub(rb"[,'\n\r]", b"?", item)
        if b"\\" in item and not _has_wildcard(item):
            item = _force_wildcard(item)  # rsync honours escapes only in wildcard mode
        if why:
            out.widened.append((e, item, "; ".join(why) + ": '?' matches any one character there"))
        items.append(item)
        out.written.append(e)
    if _ec2_command_length(items) > MAX_ARG_STRLEN:
        items = _fold_for_length(out, items, root)
    if _ec2_command_length(items) > MAX_ARG_STRLEN:
        why = (f"the rsync command ec2-bundle-vol builds from this list would be about {_ec2_command_length(items)} bytes, "
               f"over Linux's {MAX_ARG_STRLEN}-byte limit for one argument (MAX_ARG_STRLEN): the bundle would fail later "
               "with 'Failed to execute'. Erase these files first (python3 -m scrub histories / shred), or bundle with "
               "rsync or tar and their exclude files (--format rsync, --format tar)")
        out.refused.extend((e, why) for e in out.written)
        out.written, out.widened, items = [], [], []
    value = b",".join(items)
    out.data = value + b"\n"
    quoted = "'" + value.decode("utf-8", "surrogateescape") + "'" if value else "''"
    try:
        value.decode("utf-8")
        locale = ""
    except UnicodeDecodeError:  # ec2-bundle-vol's option parser aborts on such bytes under a UTF-8 locale
        locale = "LC_ALL=C "
        out.notes.append("Some names are not UTF-8: run ec2-bundle-vol with LC_ALL=C (under a UTF-8 locale its option "
                         "parser stops with 'invalid byte sequence in UTF-8').")
    out.command = (f"{locale}ec2-bundle-vol -k PK.pem -c CERT.pem -u ACCOUNT -v {shlex.quote(os.fsdecode(root))} "
                   f"-e {quoted} --batch")
    out.notes.extend(EC2_WARNINGS)
    return out


MAX_ARG_STRLEN = 131072  # Linux: one argument (the sh -c command) at most 32 pages, NUL included
_EC2_RSYNC_OVERHEAD = 2048  # rsync's own options, source and destination in ec2-bundle-vol's command
_EC2_PER_ITEM = len(" --exclude ''")


def _ec2_command_length(items: list[bytes]) -> int:
    """An upper estimate of the rsync command ec2-bundle-vol runs through sh -c for these items."""
    return _EC2_RSYNC_OVERHEAD + sum(len(i) + _EC2_PER_ITEM for i in items)


def _fold_for_length(out: Emitted, items: list[bytes], root: bytes) -> list[bytes]:
    """Replace the items of a directory all of whose entries are excluded by the directory
    itself (exact: nothing else is left out), largest first, until the command fits."""
    by_item = dict(zip(items, out.written, strict=True))
    while _ec2_command_length(list(by_item)) > MAX_ARG_STRLEN:
        parents: dict[bytes, list[bytes]] = {}
        for item, e in by_item.items():
            parent = b"/" + e.rel.rsplit(b"/", 1)[0] if b"/" in e.rel else None
            if parent and item == b"/" + e.rel and parent.count(b"/") > 1:  # plain items only, never a top-level dir
                parents.setdefault(parent, []).append(item)
        best = None
        for parent, kids in sorted(parents.items(), key=lambda kv: -len(kv[1])):
            if len(kids) < 2 or any(c in _EC2_GLOB + b",'\n\r" for c in parent):  # only plain directory names
                continue
            names = _listdir_in_root(root, parent)
            if names is not None and {parent + b"/" + n for n in names} == set(kids):
                best = parent
                break
        if best is None:
            break
        entry = Entry(best, by_item[parents[best][0]].cls, "a directory whose every entry is excluded", None, True)
        for kid in parents[best]:
            del by_item[kid]
        by_item[_escape(best, _EC2_GLOB)] = entry
        out.notes.append(f"{display(best)}: excluded as a whole directory (every entry in it is on the list) to keep "
                         "ec2-bundle-vol's command under 128 KiB")
    out.written = list(by_item.values())
    return list(by_item)


def _listdir_in_root(root: bytes, path: bytes) -> list[bytes] | None:
    from scrub.discover import safefs

    parts = [p for p in path.split(b"/") if p]
    try:
        fd = os.open(root, safefs.O_DIR & ~os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        for part in parts:
            nxt = os.open(part, safefs.O_DIR, dir_fd=fd)
            os.close(fd)
            fd = nxt
        return [os.fsencode(n) for n in os.listdir(fd)]
    except OSError:
        return None
    finally:
        os.close(fd)


def _has_wildcard(item: bytes) -> bool:
    i = 0
    while i < len(item):
        if item[i:i + 1] == b"\\":
            i += 2
            continue
        if item[i:i + 1] in (b"*", b"?", b"["):
            return True
        i += 1
    return False


def _force_wildcard(item: bytes) -> bytes:
    """Bracket one ordinary character ([c] matches only c) so rsync reads the item as a
    pattern; never the first character of a component (Dir.glob would then skip dot files)."""
    plain = []  # indexes of unescaped alphanumeric bytes that do not start a component
    i = 0
    while i < len(item):
        if item[i:i + 1] == b"\\":
            i += 2
            continue
        if chr(item[i]).isalnum() and i > 0 and item[i - 1:i] != b"/":
            plain.append(i)
        i += 1
    if not plain:
        return item  # nothing to bracket: the escapes stay literal backslashes for rsync
    k = plain[-1]
    return item[:k] + b"[" + item[k:k + 1] + b"]" + item[k + 1:]


def emit_json(entries: list[Entry], *, root: bytes = b"/", widen: bool = False) -> Emitted:
    """Every entry with the formats that can carry it (exact, widened or refused)."""
    per = {f: emitter(entries, root=root, widen=False) for f, emitter in EMITTERS.items() if f != "json"}
    out = Emitted("json", b"")
    docs = []
    for e in entries:
        carry = {}
        for fmt, em in per.items():
            if any(x is e for x in em.written):
                carry[fmt] = "exact"
            elif any(x is e for x, _ in em.refused):
                carry[fmt] = "refused: " + next(w for x, w in em.refused if x is e)
            else:
                carry[fmt] = "dropped: " + next((w for x, w in em.dropped if x is e), "")
        docs.append({**_entry_json(e), "formats": carry})
    out.written = list(entries)
    out.data = _dumps({"entries": docs, "limits": LIMITS})
    return out


def _dumps(doc) -> bytes:
    import json

    return (json.dumps(doc, indent=2) + "\n").encode()


EMITTERS = {
    "ec2-bundle-vol": lambda entries, root=b"/", widen=False: emit_ec2_bundle_vol(entries, root=root, widen=widen),
    "rsync": lambda entries, root=b"/", widen=False: emit_rsync(entries, widen=widen),
    "tar": lambda entries, root=b"/", widen=False: emit_tar(entries, widen=widen),
    "mksquashfs": lambda entries, root=b"/", widen=False: emit_mksquashfs(entries, root=root, widen=widen),
    "json": lambda entries, root=b"/", widen=False: emit_json(entries, root=root, widen=widen),
}


def emit(fmt: str, entries: list[Entry], *, root: bytes = b"/", widen: bool = False) -> Emitted:
    if fmt not in EMITTERS:
        from scrub.exceptions import UsageError

        raise UsageError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    em = EMITTERS[fmt](entries, root=os.fsencode(root), widen=widen)
    em.notes.append(LIMITS)
    return em


def manifest(root: str | bytes = "/", fmt: str = "json", *, classes=DEFAULT_CLASSES, add=(), dirs: bool = False,
             widen: bool = False, deep: bool = False) -> Emitted:
    """Scan ``root`` and emit an exclude manifest in ``fmt`` for what must not ship."""
    from scrub.discover import scan

    from scrub.discover.catalog import class_list

    classes = class_list(classes)
    added, refused = manual_entries(add, root=os.fsencode(root))
    report = scan(root, deep=deep, classes=tuple(set(classes) | {"history"}) if "history" in classes else classes)
    entries = entries_from_scan(report, classes=classes, dirs=dirs, root=os.fsencode(root)) + added
    em = emit(fmt, entries, root=os.fsencode(root), widen=widen)
    em.refused[:0] = refused
    return em
