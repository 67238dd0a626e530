"""The effective OpenSSH server configuration of a root, read the way sshd reads it.

Keywords are case-insensitive; for a keyword given twice the first value wins; ``Include``
takes globs (relative ones below /etc/ssh), expanded in lexical order and read in place, and
may appear inside a Match block; a Match block's settings apply only to the connections it
matches, so they are kept apart.  Files are read inside the root (symlinks clamped to it).
"""

from __future__ import annotations

import fnmatch
import os
import shlex
from dataclasses import dataclass, field

from scrub.discover import safefs

MAIN = b"/etc/ssh/sshd_config"
MAX_DEPTH = 16  # OpenSSH's own include depth limit

DEFAULTS = {  # OpenSSH >= 7.0 defaults for what the audit asks about
    "permitrootlogin": "prohibit-password",
    "passwordauthentication": "yes",
    "kbdinteractiveauthentication": "yes",
    "usedns": "no",
    "permitemptypasswords": "no",
}


@dataclass
class Setting:
    value: str
    file: str
    line: int

    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class MatchBlock:
    criteria: str
    file: str
    line: int
    settings: dict[str, Setting] = field(default_factory=dict)


@dataclass
class SshdConfig:
    found: bool = False
    settings: dict[str, Setting] = field(default_factory=dict)  # global, first value wins
    matches: list[MatchBlock] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # include loops, unreadable includes

    def value(self, keyword: str) -> tuple[str, str]:
        """(effective global value, where it comes from: file:line or 'default')."""
        s = self.settings.get(keyword.lower())
        if s is not None:
            return s.value, s.where()
        return DEFAULTS.get(keyword.lower(), ""), "default"


def _read(root_fd: int, path: bytes) -> bytes | None:
    try:
        fd = safefs.open_in_root(root_fd, path, safefs.O_FILE & ~os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        return os.read(fd, 1 << 20)
    finally:
        os.close(fd)


def _expand(root_fd: int, pattern: str) -> list[bytes]:
    """An Include argument: relative to /etc/ssh, a glob in its last components."""
    if not pattern.startswith("/"):
        pattern = "/etc/ssh/" + pattern
    parts = [p for p in pattern.split("/") if p]
    found = [b""]
    for part in parts:
        nxt = []
        for base in found:
            if any(c in part for c in "*?["):
                try:
                    dfd = safefs.open_in_root(root_fd, base or b"/")
                except OSError:
                    continue
                try:
                    names = sorted(n for n in os.listdir(dfd) if fnmatch.fnmatchcase(n, part))
                finally:
                    os.close(dfd)
                nxt.extend(base + b"/" + os.fsencode(n) for n in names)
            else:
                nxt.append(base + b"/" + os.fsencode(part))
        found = nxt
    return found


def _tokens(line: str) -> list[str]:
    try:
        lex = shlex.shlex(line, posix=True)
        lex.whitespace += "="
        lex.whitespace_split = True
        lex.commenters = "#"
        return list(lex)
    except ValueError:
        return line.split()


def parse(root: str | bytes = "/") -> SshdConfig:
    cfg = SshdConfig()
    root_fd = os.open(os.fsencode(root), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        text = _read(root_fd, MAIN)
        if text is None:
            return cfg
        cfg.found = True
        _parse_file(root_fd, MAIN, text, cfg, None, [], 0)
    finally:
        os.close(root_fd)
    return cfg


def _parse_file(root_fd, path: bytes, text: bytes, cfg: SshdConfig, match: MatchBlock | None, stack: list[bytes],
                depth: int) -> None:
    name = os.fsdecode(path)
    cfg.files.append(name)
    stack = stack + [path]
    for lineno, raw in enumerate(text.decode("utf-8", "replace").splitlines(), 1):
        tokens = _tokens(raw)
        if not tokens:
            continue
        keyword, args = tokens[0].lower(), tokens[1:]
        if keyword == "match":
            criteria = " ".join(args)
            if criteria.lower() == "all":
                match = None  # "Match all" ends the conditional part
            else:
                match = MatchBlock(criteria, name, lineno)
                cfg.matches.append(match)
            continue
        if keyword == "include":
            for pattern in args:
                for inc in _expand(root_fd, pattern):
                    if inc in stack:
                        cfg.problems.append(f"{name}:{lineno}: Include loop through {os.fsdecode(inc)}: not read again")
                        continue
                    if depth + 1 > MAX_DEPTH:
                        cfg.problems.append(f"{name}:{lineno}: Include nested deeper than {MAX_DEPTH}")
                        continue
                    sub = _read(root_fd, inc)
                    if sub is None:
                        continue  # sshd ignores a glob that matches nothing
                    # a Match inside the included file ends with it (sshd restores the context)
                    _parse_file(root_fd, inc, sub, cfg, match, stack, depth + 1)
            continue
        if not args:
            continue
        target = match.settings if match is not None else cfg.settings
        if keyword not in target:  # first value wins
            target[keyword] = Setting(" ".join(args), name, lineno)
