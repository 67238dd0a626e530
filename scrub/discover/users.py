"""The users of a system or a mounted image, read from <root>/etc/passwd, and what can be
known statically about where their applications keep history (XDG and *HIST* variables).

Every value read from a file a user controls is hostile until confined: it may only ever name
something inside that user's own home (``HISTFILE=/etc/shadow`` in a ``.bashrc`` is an attack,
not a setting).  Values from root-owned system files of the root (``/etc/environment``,
``/etc/profile.d/*.sh``) may name paths anywhere inside the root.  What is refused is kept as
a :class:`Pointer` so that callers report it instead of silently dropping it.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field

from scrub.discover import safefs
from scrub.exceptions import NotASystemRoot

# Homes that are system directories, not homes (daemon:/usr/sbin, sys:/dev, nobody:/nonexistent)
NOT_HOMES = (b"/", b"/bin", b"/sbin", b"/usr", b"/lib", b"/lib64", b"/etc", b"/dev", b"/proc", b"/sys", b"/run",
             b"/boot", b"/nonexistent", b"/var/run")
NO_LOGIN_SHELLS = (b"nologin", b"false", b"sync", b"halt", b"shutdown")
UID_MIN = 1000  # login.defs default on Debian, Ubuntu, Fedora, Amazon Linux

XDG_DEFAULTS = {"XDG_DATA_HOME": b".local/share", "XDG_STATE_HOME": b".local/state",
                "XDG_CONFIG_HOME": b".config", "XDG_CACHE_HOME": b".cache"}

# Variables that move a history file or its directory, read from files a login reads
ENV_NAMES = ("HISTFILE", "ZDOTDIR", "LESSHISTFILE", "PYTHON_HISTORY", "NODE_REPL_HISTORY", "SQLITE_HISTORY",
             "MYSQL_HISTFILE", "PSQL_HISTORY", "REDISCLI_HISTFILE", "GDBHISTFILE", "R_HISTFILE", "DOCKER_CONFIG",
             "KUBECONFIG", "AWS_SHARED_CREDENTIALS_FILE", *XDG_DEFAULTS)
LIST_VARS = ("KUBECONFIG",)  # ':'-separated lists of paths
OFF_VALUES = (b"", b"-", b"/dev/null")  # history switched off: names nothing to erase
ENV_FILES = (b".profile", b".bash_profile", b".bash_login", b".bashrc", b".zshenv", b".zprofile", b".zshrc",
             b".pam_environment", b".config/environment.d/history.conf")
SYSTEM_ENV_FILES = (b"/etc/environment",)
SYSTEM_ENV_DIRS = (b"/etc/profile.d",)
_ASSIGN = re.compile(rb"^\s*(?:export\s+|declare\s+-x\s+|setenv\s+)?([A-Z_][A-Z0-9_]*)(?:=|\s+DEFAULT=|\s+)(.*)$")
_HOME_TOKENS = (b"${HOME}", b"$HOME", b"@{HOME}", b"~")


@dataclass(frozen=True)
class Pointer:
    """A variable whose value scrub refused to follow, and why (reported, never acted on)."""

    user: str
    var: str
    value: bytes
    source: bytes  # the file that set it
    reason: str

    def message(self) -> str:
        from scrub._paths import display

        return f"{self.user}'s {self.var} {self.reason}: {display(self.value)} (set in {display(self.source)}); not touched"


@dataclass
class User:
    name: str
    uid: int
    gid: int
    home: bytes  # as written in passwd (absolute, inside the root)
    shell: bytes
    # statically known values: home-relative (no leading "/") when set by the user's own files,
    # absolute (inside the root) only when set by a root-owned system file
    env: dict[str, bytes] = field(default_factory=dict)
    pointers: list[Pointer] = field(default_factory=list)  # values refused
    real_home: bytes = b""  # the home with links resolved inside the root (what a bundler walks)

    def xdg(self, var: str) -> bytes:
        """A home-relative (or, from a system file, absolute) XDG base directory."""
        return self.env.get(var, XDG_DEFAULTS[var])

    @property
    def can_log_in(self) -> bool:
        return os.path.basename(self.shell.strip()) not in NO_LOGIN_SHELLS and (self.uid == 0 or self.uid >= UID_MIN)


def parse_passwd(text: bytes) -> tuple[list[User], list[str]]:
    """(accounts, problems): lines that cannot be an account are problems, never fatal."""
    users, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith((b"#", b"+", b"-")):
            continue
        parts = line.split(b":")
        if len(parts) < 7:
            problems.append(f"etc/passwd line {n}: {len(parts)} fields, not 7: ignored")
            continue
        try:
            users.append(User(parts[0].decode("utf-8", "backslashreplace"), int(parts[2]), int(parts[3]), parts[5],
                              parts[6]))
        except ValueError:
            problems.append(f"etc/passwd line {n}: uid or gid is not a number: ignored")
    return users, problems


def _is_system_dir(home: bytes) -> bool:
    home = b"/" + home.strip(b"/")
    return any(home == d or (d != b"/" and home.startswith(d + b"/")) for d in NOT_HOMES)


def users_of(root_fd: int, problems: list[tuple[bytes, str]] | None = None) -> list[User]:
    """Every account of the root with a home that exists and is not a system directory; the
    first account naming a home owns it (root before others, as passwd lists them).

    Raises :class:`scrub.NotASystemRoot` when the root has no etc/passwd.  ``problems`` collects
    (path, message) for what is odd: duplicate names, relative or empty homes, a home that is
    missing for an account that can log in (an unmounted /home must not pass as clean)."""
    problems = problems if problems is not None else []
    try:
        fd = safefs.open_in_root(root_fd, b"/etc/passwd", safefs.O_FILE & ~os.O_NOFOLLOW)
    except FileNotFoundError:
        raise NotASystemRoot("not a system root (no etc/passwd): is the image mounted?") from None
    try:
        text = os.read(fd, 4 << 20)
    finally:
        os.close(fd)
    accounts, bad_lines = parse_passwd(text)
    problems.extend((b"/etc/passwd", m) for m in bad_lines)
    system_env = read_system_env(root_fd)
    seen_homes: dict[bytes, str] = {}
    seen_names: set[str] = set()
    out = []
    for user in accounts:
        if user.name in seen_names:
            problems.append((b"/etc/passwd", f"user name {user.name!r} appears again (uid {user.uid}, home "
                             f"{user.home.decode('utf-8', 'backslashreplace')}): that home is still done"))
        seen_names.add(user.name)
        if not user.home.startswith(b"/"):
            if user.home.strip():
                problems.append((b"/etc/passwd", f"home of {user.name} is not an absolute path "
                                 f"({user.home.decode('utf-8', 'backslashreplace')!r}): not searched"))
            elif user.can_log_in:
                problems.append((b"/etc/passwd", f"home of {user.name} is empty: not searched"))
            continue
        if _is_system_dir(user.home):
            continue
        try:
            hfd = safefs.open_in_root(root_fd, user.home)
        except OSError as exc:
            if user.can_log_in and user.uid != 0:  # a user's home that is missing: an unmounted /home?
                top = b"/" + user.home.strip(b"/").split(b"/")[0]
                what = (f"missing: is {top.decode('utf-8', 'backslashreplace')} mounted?" if exc.errno == 2
                        else f"cannot be opened: {exc.strerror}")
                problems.append((user.home, f"home of {user.name} {what}"))
            continue
        try:
            real = safefs.real_path_in_root(root_fd, user.home)
        except OSError:
            real = b"/" + user.home.strip(b"/")
        if real in seen_homes:
            if seen_homes[real] != user.name:
                problems.append((user.home, f"home of {user.name} is also the home of {seen_homes[real]}: "
                                 f"searched once, as {seen_homes[real]}'s"))
            os.close(hfd)
            continue
        user.real_home = real
        try:
            read_env(user, hfd, system_env)
        finally:
            os.close(hfd)
        seen_homes[real] = user.name
        out.append(user)
    return out


def _strip_quotes(raw: bytes) -> bytes:
    v = raw.split(b" #", 1)[0].strip().rstrip(b";")
    if len(v) >= 2 and v[0] == v[-1] and v[:1] in (b'"', b"'"):
        v = v[1:-1]
    return v


def _normalise(rel: bytes) -> bytes | None:
    """Lexically normalised relative path; None if ``..`` climbs above its start.  No link
    is ever followed when the result is opened (every component O_NOFOLLOW), so a lexical
    ``..`` means what it says."""
    out: list[bytes] = []
    for part in rel.split(b"/"):
        if part in (b"", b"."):
            continue
        if part == b"..":
            if not out:
                return None
            out.pop()
            continue
        out.append(part)
    return b"/".join(out)


def confine(value: bytes, home: bytes, *, system: bool) -> tuple[bytes | None, str]:
    """Where a variable's value may point: (path, "") or (None, reason).

    A leading home prefix (``~``, ``$HOME``, ``${HOME}``, ``@{HOME}``, the literal home path)
    is stripped; the rest must stay beneath the home (a relative value is home-relative, as a
    login shell in its home reads it).  The result is home-relative, never absolute.  Only a
    ``system`` value may name an absolute path outside the home (still inside the root: the
    caller opens it from the root's fd), returned with its leading "/"."""
    if b"\0" in value:
        return None, "holds a NUL byte"
    home = b"/" + home.strip(b"/")
    rest = None
    for token in _HOME_TOKENS:
        if value == token or value.startswith(token + b"/"):
            rest = value[len(token):]
            break
    if rest is None and (value == home or value.startswith(home.rstrip(b"/") + b"/")):
        rest = value[len(home):]
    if b"$" in (rest if rest is not None else value) or b"`" in value:
        return None, "needs a shell to evaluate (not followed)"
    if rest is None and value.startswith(b"~"):
        return None, "names another user's home"
    if rest is None and value.startswith(b"/"):
        if not system:
            return None, "points outside the home"
        norm = _normalise(value)
        return (b"/" + norm, "") if norm else (None, "names the root itself")
    norm = _normalise(rest if rest is not None else value)
    if norm is None:
        return None, "climbs out of the home with '..'"
    if not norm:
        return None, "names the home itself"
    return norm, ""


def read_system_env(root_fd: int) -> list[tuple[bytes, bytes]]:
    """(source, text) of the root's system environment files that only root can change."""
    out = []
    paths = list(SYSTEM_ENV_FILES)
    for d in SYSTEM_ENV_DIRS:
        try:
            dfd = safefs.open_in_root(root_fd, d)
        except OSError:
            continue
        try:
            paths += [d + b"/" + os.fsencode(n) for n in sorted(os.listdir(dfd)) if n.endswith(".sh")]
        except OSError:
            pass
        finally:
            os.close(dfd)
    for path in paths:
        try:
            fd = safefs.open_in_root(root_fd, path, safefs.O_FILE & ~os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and st.st_uid == 0 and not st.st_mode & 0o022:
                out.append((path, os.read(fd, 1 << 16)))
        except OSError:
            pass
        finally:
            os.close(fd)
    return out


def read_env(user: User, home_fd: int, system_env: list[tuple[bytes, bytes]] | None = None) -> None:
    """Fill ``user.env`` with the assignments of ENV_NAMES in the system environment files and
    the user's login files, in the order a login shell reads them (later wins), each value
    confined (see :func:`confine`); refused values go to ``user.pointers``."""
    sources = [(src, text, True) for src, text in (system_env or [])]
    for name in ENV_FILES:
        head = _read_rel(home_fd, name)
        if head is not None:
            sources.append((user.home.rstrip(b"/") + b"/" + name, head, False))
    for src, text, system in sources:
        for line in text.splitlines():
            m = _ASSIGN.match(line)
            if not m:
                continue
            var = m.group(1).decode()
            if var not in ENV_NAMES:
                continue
            raw = _strip_quotes(m.group(2))
            values = raw.split(b":") if var in LIST_VARS else [raw]
            kept = []
            for value in values:
                if value in OFF_VALUES:
                    kept.append(value)
                    continue
                path, why = confine(value, user.home, system=system)
                if path is None:
                    user.pointers.append(Pointer(user.name, var, value, src, why))
                else:
                    kept.append(path)
            user.env.pop(var, None)
            if kept:
                user.env[var] = b":".join(kept) if var in LIST_VARS else kept[0]


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
