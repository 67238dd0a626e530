"""The users of a system or a mounted image, read from <root>/etc/passwd, and what can be
known statically about where their applications keep history (XDG and *HIST* variables)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from scrub.discover import safefs

# Homes that are system directories, not homes (daemon:/usr/sbin, sys:/dev, nobody:/nonexistent)
NOT_HOMES = (b"/", b"/bin", b"/sbin", b"/usr", b"/lib", b"/lib64", b"/etc", b"/dev", b"/proc", b"/sys", b"/run",
             b"/boot", b"/nonexistent", b"/var/run")

XDG_DEFAULTS = {"XDG_DATA_HOME": b".local/share", "XDG_STATE_HOME": b".local/state",
                "XDG_CONFIG_HOME": b".config", "XDG_CACHE_HOME": b".cache"}

# Variables that move a history file or its directory, read from files a login reads
ENV_NAMES = ("HISTFILE", "ZDOTDIR", "LESSHISTFILE", "PYTHON_HISTORY", "NODE_REPL_HISTORY", "SQLITE_HISTORY",
             "MYSQL_HISTFILE", "PSQL_HISTORY", "REDISCLI_HISTFILE", "GDBHISTFILE", "R_HISTFILE", "DOCKER_CONFIG",
             "KUBECONFIG", "AWS_SHARED_CREDENTIALS_FILE", *XDG_DEFAULTS)
ENV_FILES = (b".profile", b".bash_profile", b".bash_login", b".bashrc", b".zshenv", b".zprofile", b".zshrc",
             b".pam_environment", b".config/environment.d/history.conf")
_ASSIGN = re.compile(rb"^\s*(?:export\s+|declare\s+-x\s+|setenv\s+)?([A-Z_][A-Z0-9_]*)(?:=|\s+DEFAULT=|\s+)(.*)$")


@dataclass
class User:
    name: str
    uid: int
    gid: int
    home: bytes  # as written in passwd (absolute, inside the root)
    shell: bytes
    env: dict[str, bytes] = field(default_factory=dict)  # statically known, home-relative or absolute

    def xdg(self, var: str) -> bytes:
        """A home-relative (or absolute) XDG base directory for this user."""
        return self.env.get(var, XDG_DEFAULTS[var])


def parse_passwd(text: bytes) -> list[User]:
    users = []
    for line in text.splitlines():
        if not line.strip() or line.startswith((b"#", b"+", b"-")):
            continue
        parts = line.split(b":")
        if len(parts) < 7:
            continue
        try:
            users.append(User(parts[0].decode("utf-8", "replace"), int(parts[2]), int(parts[3]), parts[5], parts[6]))
        except ValueError:
            continue
    return users


def _is_system_dir(home: bytes) -> bool:
    home = b"/" + home.strip(b"/")
    return any(home == d or (d != b"/" and home.startswith(d + b"/")) for d in NOT_HOMES)


def users_of(root_fd: int) -> list[User]:
    """Every account of the root with a home that exists and is not a system directory; the
    first account naming a home owns it (root before others, as passwd lists them)."""
    try:
        fd = safefs.open_in_root(root_fd, b"/etc/passwd", safefs.O_FILE & ~os.O_NOFOLLOW)
    except OSError:
        return []
    try:
        text = os.read(fd, 4 << 20)
    finally:
        os.close(fd)
    seen, out = set(), []
    for user in parse_passwd(text):
        if not user.home.startswith(b"/") or _is_system_dir(user.home) or user.home in seen:
            continue
        try:
            hfd = safefs.open_in_root(root_fd, user.home)
        except OSError:
            continue
        try:
            user.env = read_env(root_fd, hfd, user.home)
        finally:
            os.close(hfd)
        seen.add(user.home)
        out.append(user)
    return out


def _value(raw: bytes, home: bytes) -> bytes | None:
    v = raw.split(b" #", 1)[0].strip().rstrip(b";")
    if len(v) >= 2 and v[0] == v[-1] and v[:1] in (b'"', b"'"):
        v = v[1:-1]
    for token in (b"${HOME}", b"$HOME", b"@{HOME}"):
        v = v.replace(token, home)
    if v.startswith(b"~/"):
        v = home + v[1:]
    if b"$" in v or b"`" in v:
        return None  # needs a shell to evaluate
    return v


def _relative(value: bytes, home: bytes) -> bytes:
    """Home-relative when inside the home, else absolute (inside the root)."""
    h = home.rstrip(b"/") + b"/"
    return value[len(h):] if value.startswith(h) else value


def read_env(root_fd: int, home_fd: int, home: bytes) -> dict[str, bytes]:
    """Assignments of ENV_NAMES in /etc/environment and the user's login files, in the order
    a login shell reads them (later wins).  Only literal values and $HOME are understood."""
    env: dict[str, bytes] = {}
    sources = []
    try:
        fd = safefs.open_in_root(root_fd, b"/etc/environment", safefs.O_FILE & ~os.O_NOFOLLOW)
        try:
            sources.append(os.read(fd, 1 << 16))
        finally:
            os.close(fd)
    except OSError:
        pass
    for name in ENV_FILES:
        head = _read_rel(home_fd, name)
        if head is not None:
            sources.append(head)
    for text in sources:
        for line in text.splitlines():
            m = _ASSIGN.match(line)
            if not m or m.group(1).decode() not in ENV_NAMES:
                continue
            value = _value(m.group(2), home)
            if value is not None:
                env[m.group(1).decode()] = _relative(value, home) if value.startswith(b"/") else value
    return env


def _read_rel(dirfd: int, rel: bytes) -> bytes | None:
    """A small file below dirfd, each component opened without following links."""
    parts = rel.split(b"/")
    fds = []
    try:
        cur = dirfd
        for p in parts[:-1]:
            cur = os.open(p, safefs.O_DIR, dir_fd=cur)
            fds.append(cur)
        got = safefs.read_head(cur, parts[-1], 1 << 16)
        return got[0] if got else None
    except OSError:
        return None
    finally:
        for fd in fds:
            os.close(fd)
