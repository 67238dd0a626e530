"""The last step before bundling: erase every history file of every user, and prove it.

histories() finds history files with the history catalog (every home in <root>/etc/passwd,
XDG locations, variables that move them), overwrites each with the engine and removes it (or
truncates it in place), reports what the storage under each file may keep, and lists the
processes that will write a history again when they exit, with the remedy for the shell that
started scrub.  check() is the read-only proof for the bundling step.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field

from scrub import overwrite
from scrub._paths import display, to_json
from scrub.discover import catalog, safefs
from scrub.discover.scan import Scanner, ScanReport, open_root
from scrub.discover.users import User
from scrub.results import ShredResult

DEV_NULL = b"/dev/null"


@dataclass
class Item:
    """One history file (or link) and what happened to it."""

    user: str
    path: bytes
    catalog_id: str
    kind: str  # file | symlink | fifo | ...
    size: int = 0
    action: str = ""  # erase | truncate | keep-link | remove-link | skip
    status: str = "pending"  # done | planned | failed | refused | skipped | interrupted
    reason: str = ""
    link_target: bytes | None = None
    result: ShredResult | None = None
    home: bytes | None = None  # the home it lies in (None: outside every home, named by a system file)
    via: str = ""  # the variable that named it ("": a catalog path)

    def to_json(self) -> dict:
        doc = to_json(self.path)
        doc.update(user=self.user, catalog_id=self.catalog_id, kind=self.kind, size=self.size, action=self.action,
                   status=self.status, reason=self.reason)
        if self.via:
            doc["via"] = self.via
        if self.link_target is not None:
            doc["link_target"] = to_json(self.link_target)["path"]
        if self.result is not None:
            doc["overwrite"] = self.result.to_json()
        return doc


@dataclass
class Writer:
    """A live process that will write a history file when it exits."""

    pid: int
    user: str
    name: str
    will_write: bytes
    source: str  # environment | default
    ancestor: bool  # it started scrub (directly or not)

    def to_json(self) -> dict:
        return {"pid": self.pid, "user": self.user, "name": self.name, "will_write": to_json(self.will_write)["path"],
                "source": self.source, "ancestor": self.ancestor}


@dataclass
class HistoriesReport:
    root: bytes
    mode: str  # erase | truncate | dry-run | check
    items: list[Item] = field(default_factory=list)
    writers: list[Writer] = field(default_factory=list)
    remedy: str = ""
    errors: list[tuple[bytes, str]] = field(default_factory=list)
    refused_for_safety: str = ""  # set when --strict stopped the run before it started

    @property
    def remaining(self) -> list[Item]:
        """History content still there (check mode, or what could not be erased)."""
        return [i for i in self.items if i.action in ("erase", "truncate", "remove-link") and i.status != "done"]

    def storage_summary(self) -> list[dict]:
        """Per storage layer: the findings that leave copies of erased files, with the advice."""
        out: dict[tuple[str, str], dict] = {}
        for item in self.items:
            for f in (item.result.findings if item.result else []):
                if f.severity not in ("ineffective", "uncertain"):
                    continue
                key = (f.id, f.layer)
                entry = out.setdefault(key, {"id": f.id, "severity": f.severity, "layer": f.layer, "title": f.spec.title,
                                             "survives": f.spec.survives, "remedy": f.remedy, "files": 0})
                entry["files"] += 1
        order = {"ineffective": 0, "uncertain": 1}
        return sorted(out.values(), key=lambda e: (order[e["severity"]], e["layer"], e["id"]))

    def to_json(self) -> dict:
        return {"root": to_json(self.root)["path"], "mode": self.mode, "items": [i.to_json() for i in self.items],
                "live_writers": [w.to_json() for w in self.writers], "remedy": self.remedy,
                "storage": self.storage_summary(), "remaining": len(self.remaining),
                "refused_for_safety": self.refused_for_safety,
                "errors": [{**to_json(p), "message": m} for p, m in self.errors]}


# ---------------------------------------------------------------------------------------
# Live writers


# process name -> (variable that names its file, default path below the home, interactive-only)
WRITERS = {
    "bash": ("HISTFILE", ".bash_history"), "zsh": ("HISTFILE", ".zsh_history"), "fish": (None, ".local/share/fish/fish_history"),
    "ksh": ("HISTFILE", ".sh_history"), "ksh93": ("HISTFILE", ".sh_history"), "mksh": ("HISTFILE", ".mksh_history"),
    "ash": ("HISTFILE", ".ash_history"), "tcsh": (None, ".history"), "csh": (None, ".history"),
    "python": ("PYTHON_HISTORY", ".python_history"), "irb": (None, ".irb_history"), "node": ("NODE_REPL_HISTORY", ".node_repl_history"),
    "psql": ("PSQL_HISTORY", ".psql_history"), "mysql": ("MYSQL_HISTFILE", ".mysql_history"),
    "mariadb": ("MYSQL_HISTFILE", ".mysql_history"), "sqlite3": ("SQLITE_HISTORY", ".sqlite_history"),
    "redis-cli": ("REDISCLI_HISTFILE", ".rediscli_history"), "less": ("LESSHISTFILE", ".lesshst"),
    "vim": (None, ".viminfo"), "vi": (None, ".viminfo"), "view": (None, ".viminfo"),
    "nvim": (None, ".local/state/nvim/shada/main.shada"), "gdb": ("GDBHISTFILE", ".gdb_history"),
}
SHELLS = {"bash", "zsh", "fish", "ksh", "ksh93", "mksh", "ash", "tcsh", "csh"}
REPLS = {"python", "node", "irb"}  # a REPL only when started without a script


def _writer_kind(name: str, cmdline: list[str]) -> str | None:
    base = name.lstrip("-")
    if base.startswith("python") and base[6:].replace(".", "").isdigit() or base == "python3":
        base = "python"
    if base not in WRITERS:
        return None
    args = cmdline[1:]
    if base in SHELLS:
        if "-c" in args or any(not a.startswith("-") for a in args):
            return None  # running a command or a script: no history
        return base
    if base in REPLS and any(not a.startswith("-") for a in args):
        return None
    return base


def live_writers(users: list[User]) -> list[Writer]:
    """Processes on this machine that will write a history file when they exit."""
    import psutil

    homes = {u.uid: u.home for u in users}
    me = os.getpid()
    try:
        ancestors = {p.pid for p in psutil.Process(me).parents()}
    except psutil.Error:
        ancestors = set()
    out = []
    for proc in psutil.process_iter(["pid", "name", "cmdline", "uids", "username", "terminal"]):
        info = proc.info
        if info["pid"] == me or not info.get("cmdline"):
            continue
        kind = _writer_kind(info["name"] or "", info["cmdline"])
        if kind is None:
            continue
        if kind in SHELLS and info.get("terminal") is None and "-i" not in info["cmdline"]:
            continue  # a shell with no terminal and no -i is not interactive
        var, default = WRITERS[kind]
        env = {}
        try:
            env = proc.environ()
        except psutil.Error:
            pass
        uid = info["uids"].real if info.get("uids") else -1
        home = os.fsencode(env.get("HOME", "")) or homes.get(uid, b"")
        value = env.get(var) if var else None
        if value in ("", "-", "/dev/null"):
            continue  # history switched off for this process
        if value:
            target, source = os.fsencode(value), "environment"
        else:
            target, source = home.rstrip(b"/") + b"/" + default.encode(), "default"
        out.append(Writer(info["pid"], info.get("username") or str(uid), kind, target, source, info["pid"] in ancestors))
    return out


def remedy_for(writers: list[Writer]) -> str:
    mine = [w for w in writers if w.ancestor and w.name in SHELLS]
    lines = []
    if mine:
        w = mine[0]
        lines.append(f"The {w.name} that started scrub (pid {w.pid}) will write {display(w.will_write)} when it exits. "
                     f"Run the last step as `exec python3 -m scrub histories` ({w.name} then has nothing left to write"
                     + (": bash saves its history before exec" if w.name == "bash" else "") + "), or `unset HISTFILE` "
                     "in that shell first, or end it with `kill -9 $$` right after.")
    others = [w for w in writers if w not in mine]
    if others:
        lines.append("Other processes will write histories when they exit: end them with `kill -9 "
                     + " ".join(str(w.pid) for w in others) + "` (a normal exit writes the file again), then run again.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# The job


def _find(root: bytes) -> tuple[ScanReport, dict[bytes, User]]:
    scanner = Scanner(root, entries=catalog.HISTORIES, system=False)
    try:
        report = scanner.run()
    finally:
        scanner.close()
    return report, {u.real_home: u for u in report.users}


def _open_parent(root_fd: int, home: bytes | None, path: bytes) -> tuple[int, bytes]:
    """(dirfd, name) of ``path``: beneath its home (resolved inside the root), or from the
    root for a path outside every home; every component opened without following links, on
    the device of where it starts (a mount appearing below a home is not crossed), and a
    ``..`` component is refused, so nothing outside the home (or the root) is ever reached."""
    if home is not None and path.startswith(home.rstrip(b"/") + b"/"):
        cur = safefs.open_in_root(root_fd, home)
        rel = path[len(home.rstrip(b"/")) + 1:]
    else:
        cur = os.dup(root_fd)
        rel = path.lstrip(b"/")
    parts = rel.split(b"/")
    try:
        if any(p in (b"", b".", b"..") for p in parts):
            raise OSError(errno.EINVAL, "a path with an empty, '.' or '..' component: not followed", path)
        dev = safefs.mount_key(cur)
        for part in parts[:-1]:
            nxt = os.open(part, safefs.O_DIR, dir_fd=cur)
            os.close(cur)
            cur = nxt
            if home is not None and safefs.mount_key(cur) != dev:
                raise OSError(errno.EXDEV, "a mount point on the way: not crossed", path)
    except BaseException:
        os.close(cur)
        raise
    return cur, parts[-1]


def histories(root: str | bytes = "/", *, dry_run: bool = False, truncate: bool = False, strict: bool = False,
              engine=None, inspect=True, progress=None, writers: bool | None = None) -> HistoriesReport:
    """Erase every history file of every user of ``root`` (see the module docstring).

    ``dry_run`` changes nothing and says what would happen; ``truncate`` overwrites then
    truncates in place (owner, mode and extended attributes stay) instead of removing;
    ``strict`` refuses to start while live writers remain (``refused_for_safety`` says why)
    and refuses files whose storage keeps a copy.  ``writers`` looks for live writers
    (default: only when ``root`` is this machine's /)."""
    root_b = os.fsencode(root)
    found, users = _find(root_b)
    report = HistoriesReport(root_b, "dry-run" if dry_run else ("truncate" if truncate else "erase"))
    report.errors = list(found.errors)
    if writers is None:
        writers = os.path.realpath(root_b) == b"/"
    if writers:
        report.writers = live_writers(found.users)
        report.remedy = remedy_for(report.writers)
    for f in found.findings:
        report.items.append(_plan(f))
    for path, why in found.skipped:
        report.items.append(Item("?", path, "", "special", action="skip", status="skipped", reason=why))
    if strict and report.writers:
        report.refused_for_safety = "live processes will write history files when they exit"
        for item in report.items:
            if item.status == "pending":
                item.status = "refused"
                item.reason = "not started: --strict and live writers remain"
        return report
    if dry_run:
        for item in report.items:
            if item.status == "pending":
                item.status = "planned"
        return report
    root_fd = open_root(root_b)
    try:
        options = dict(remove=None if truncate else "wipe", truncate=truncate, strict=strict, engine=engine,
                       inspect=inspect, progress=progress, defer_dir_sync=True)
        pending = [i for i in report.items if i.status == "pending"]
        processes = min(PROCESSES, max(1, len(pending) // 200))  # forking pays off only for many files
        if processes > 1 and progress is None:
            _erase_in_processes(root_fd, pending, users, options, processes)
        else:
            _erase_all(root_fd, pending, users, options)
    finally:
        os.close(root_fd)
    return report


WORKERS = 8  # files of different users are erased side by side: their syncs overlap
PROCESSES = os.cpu_count() or 1  # and, for many files, on every core (the per-file work is Python)


def _erase_in_processes(root_fd: int, items: list[Item], users: dict[bytes, User], options: dict, n: int) -> None:
    """Shard the users over ``n`` forked processes, each running the thread pool on its
    shard; results come back through pipes.  Ctrl-C reaches every process: each stops after
    its current files and still sends what it did."""
    import multiprocessing
    import pickle

    ctx = multiprocessing.get_context("fork")
    names = sorted({i.home or b"" for i in items})
    shards = [set(names[k::n]) for k in range(n)]
    procs = []
    for shard in shards:
        mine = [k for k, i in enumerate(items) if (i.home or b"") in shard]
        if not mine:
            continue
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(send, root_fd, [items[k] for k in mine], users, options), daemon=True)
        proc.start()
        send.close()
        procs.append((proc, recv, mine))
    interrupted = False
    for proc, recv, mine in procs:
        while True:
            try:
                done = pickle.loads(recv.recv_bytes())
                break
            except KeyboardInterrupt:
                interrupted = True  # the child saw it too: wait for what it did
            except EOFError:
                done = None
                break
        proc.join()
        if done is None:
            for k in mine:
                if items[k].status == "pending":
                    items[k].status, items[k].reason = "failed", "worker process died"
            continue
        for k, item in zip(mine, done, strict=True):
            items[k].__dict__.update(item.__dict__)
    if interrupted or any(i.status == "interrupted" for i in items):
        raise KeyboardInterrupt


def _child(send, root_fd: int, items: list[Item], users: dict[bytes, User], options: dict) -> None:  # pragma: no cover
    import pickle

    try:
        _erase_all(root_fd, items, users, options)
    except KeyboardInterrupt:
        pass
    finally:
        send.send_bytes(pickle.dumps(items))
        send.close()


def _erase_all(root_fd: int, items: list[Item], users: dict[bytes, User], options: dict) -> None:
    """Erase the pending items, one user's files in order on one worker, several users at a
    time.  Ctrl-C stops every worker after its current file; what was not reached stays."""
    import concurrent.futures
    import threading

    stop = threading.Event()
    by_user: dict[tuple[bytes | None, str], list[Item]] = {}  # by home: two accounts may share a name
    for item in items:
        if item.status == "pending":
            by_user.setdefault((item.home, item.user), []).append(item)
    local = threading.local()
    shredders: list[overwrite.Shredder] = []
    lock = threading.Lock()

    def shredder() -> overwrite.Shredder:
        if not hasattr(local, "shredder"):
            local.shredder = overwrite.Shredder(**options)
            with lock:
                shredders.append(local.shredder)
        return local.shredder

    def work(items: list[Item]) -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                try:
                    _act(root_fd, users.get(item.home) if item.home is not None else None, item, shredder())
                except OSError as exc:
                    item.status, item.reason = "failed", exc.strerror or str(exc)
        finally:  # one sync per directory this user's removals touched, before reporting them done
            failed = shredder().sync_dirs()
            if failed:  # which removal a failed sync affects cannot be told apart: none is proven durable
                why = "; ".join(f"{display(p)}: {m}" for p, m in failed)
                for item in items:
                    if item.status == "done" and item.action in ("erase", "remove-link"):
                        item.status, item.reason = "failed", f"directory sync failed ({why}): the removal may not be durable"

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(WORKERS, max(1, len(by_user))),
                                                 thread_name_prefix="scrub-histories")
    try:
        futures = [pool.submit(work, items) for items in by_user.values()]
        for fut in concurrent.futures.as_completed(futures):
            fut.result()
    except KeyboardInterrupt:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        for item in items:
            if item.status == "pending":
                item.status, item.reason = "interrupted", "not reached: interrupted"
        raise
    finally:
        pool.shutdown(wait=True)
        for sh in shredders:
            sh.close()


def _plan(f) -> Item:
    item = Item(f.user, f.path, f.catalog_id or "", f.kind, f.size, link_target=f.link_target, home=f.home, via=f.via)
    if f.kind == "symlink":
        if f.link_target == DEV_NULL:
            item.action, item.status, item.reason = "keep-link", "done", "linked to /dev/null: history is off, left as it is"
        else:
            item.action, item.reason = "remove-link", "a link: the link is removed, its target is not touched"
    elif f.kind == "dir":
        item.action = "erase"
        item.reason = "a history directory: every file in it"
        if f.benign:
            item.action, item.status, item.reason = "skip", "done", "an empty history directory: nothing to erase"
    else:
        item.action = "erase"
    return item


def _act(root_fd: int, user: User | None, item: Item, shredder: overwrite.Shredder) -> None:
    if item.home is not None and user is None:
        item.status, item.reason = "refused", "its home is no longer known: not touched"
        return
    dirfd, name = _open_parent(root_fd, item.home, item.path)
    try:
        if item.action == "remove-link":
            st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            if not stat.S_ISLNK(st.st_mode):
                item.status, item.reason = "refused", "no longer a link; not touched"
                return
            if item.home is None or user is None:
                item.status, item.reason = "refused", "a link outside every home: not touched"
                return
            if st.st_uid not in (0, user.uid):
                item.status, item.reason = "refused", f"a link owned by uid {st.st_uid}, not by {user.name} or root: not touched"
                return
            os.unlink(name, dir_fd=dirfd)
            os.fsync(dirfd)
            item.status = "done"
            return
        # A catalog path in a home may hold a root-owned file (root's own shell wrote it, one link:
        # the hard-link rule applies); a variable's say-so reaches only what the user owns.
        owners = ({user.uid} if item.via else {0, user.uid}) if user is not None else {0}
        shredder.opts.owners = frozenset(owners)
        if item.kind == "dir":
            _erase_dir(dirfd, name, item, shredder)
            return
        item.action = "truncate" if shredder.opts.truncate else "erase"
        item.result = shredder.at(dirfd, name, item.path)
        item.status = "done" if item.result.ok else item.result.status
        if not item.result.ok:
            item.reason = "; ".join(e.message for e in item.result.errors)
    finally:
        os.close(dirfd)


def _erase_dir(dirfd: int, name: bytes, item: Item, shredder: overwrite.Shredder) -> None:
    """Erase every regular file below a history directory (links are not followed)."""
    dfd = os.open(name, safefs.O_DIR, dir_fd=dirfd)
    failed, results = [], []
    try:
        for sub_dfd, prefix, entry, kind in safefs.walk(dfd, same_device=True,
                                                        on_error=lambda p, e: failed.append(f"{display(os.fsencode(p))}: {e.strerror}")):
            if kind != "file":
                continue
            shown = item.path + b"/" + os.fsencode(prefix + entry)
            r = shredder.at(sub_dfd, os.fsencode(entry), shown)
            results.append(r)
            if not r.ok:
                failed.append(f"{display(shown)}: {'; '.join(e.message for e in r.errors)}")
    finally:
        os.close(dfd)
    item.size = sum(r.size for r in results)
    item.result = results[0] if len(results) == 1 else None
    item.status = "failed" if failed else "done"
    item.reason = "; ".join(failed) or (f"{len(results)} file erased" if len(results) == 1 else f"{len(results)} files erased")


def check(root: str | bytes = "/") -> HistoriesReport:
    """Read-only: every history file with content still under ``root`` (for the bundling step)."""
    root_b = os.fsencode(root)
    found, _ = _find(root_b)
    report = HistoriesReport(root_b, "check", errors=list(found.errors))
    for f in found.findings:
        item = _plan(f)
        if item.status == "pending":
            item.status = "present"
        report.items.append(item)
    return report
