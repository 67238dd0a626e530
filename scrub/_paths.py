"""Bytes-safe path helpers: scrub works on bytes paths and shows them without losing bytes."""

from __future__ import annotations

import base64
import os


def as_bytes(path: str | bytes | os.PathLike) -> bytes:
    return os.fsencode(path)


def as_path_list(value, what: str) -> list:
    """One path (str, bytes, PathLike) as a list of one, or an iterable of paths; anything
    else is a TypeError.  (A str is iterable: taken as letters it would name '/', 'e', 't' ...)"""
    if isinstance(value, (str, bytes, os.PathLike)):
        return [value]
    if value is None:
        return []
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"{what}: a path or an iterable of paths, not {type(value).__name__}") from None
    for item in items:
        if not isinstance(item, (str, bytes, os.PathLike)):
            raise TypeError(f"{what}: every item must be a path (str, bytes or os.PathLike), not {type(item).__name__}")
    return items


_SHELL_SPECIAL = frozenset(b" \t\n'\"$&()*;<>?[\\^`|!=")
# What gnulib lets stand inside "..." when it prefers double quotes for a name with a quote.
_DOUBLE_QUOTE_SAFE = frozenset(b" %'+,-.:@]_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_DOLLAR_ESCAPES = {0x07: "\\a", 0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0B: "\\v", 0x0C: "\\f", 0x0D: "\\r"}


def shell_quote(path: str | bytes | os.PathLike) -> str:
    """A name as GNU tools quote it in messages (the shell-escape style of coreutils, as
    ``ls --quoting-style=shell-escape`` shows it under LC_ALL=C, which the tests compare
    with): unquoted when nothing in it is special, "a'b" for a quote alone, else in single
    quotes with unprintable bytes as $'\\ooo' pieces ('a'$'\\033''c')."""
    raw = os.fsencode(path)
    printable = [0x20 <= b < 0x7F for b in raw]
    special = (any(b in _SHELL_SPECIAL for b in raw) or raw[:1] in (b"#", b"~") or raw in (b"{", b"}")
               or not all(printable))
    if not raw:
        return "''"
    if not special:
        return raw.decode("ascii")
    if b"'" in raw and all(b in _DOUBLE_QUOTE_SAFE or (i == 0 and b in b"#~") for i, b in enumerate(raw)):
        return '"' + raw.decode("ascii") + '"'  # a quote, and nothing double quotes would expand
    out, quoted, i = ["'"], True, 0
    while i < len(raw):
        if printable[i]:
            if raw[i] == 0x27:  # a quote: closed, escaped, reopened
                out.append("'\\''" if quoted else "\\''")
            else:
                out.append(chr(raw[i]) if quoted else "'" + chr(raw[i]))
            quoted = True
            i += 1
            continue
        if quoted:
            out.append("'")
            quoted = False
        out.append("$'")
        while i < len(raw) and not printable[i]:
            out.append(_DOLLAR_ESCAPES.get(raw[i], f"\\{raw[i]:03o}"))
            i += 1
        out.append("'")
    if quoted:
        out.append("'")
    text = "".join(out)
    if b"'" in raw[1:] and raw[0] != 0x27 and not printable[-1]:
        # gnulib restarts its quoting pass on the quote and, when the name ends unprintable,
        # comes out with an empty '' in front (or, before a leading $'..', without the ''$):
        # odd but harmless, and what scripts comparing messages will see from GNU.
        text = text[3:] if text.startswith("''$") else "''" + text
    return text


_C_ESCAPES = {0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v",
              0x5C: "\\\\", 0x27: "\\'"}


def c_quote(value: str | bytes) -> str:
    """A value as GNU tools quote it in C-locale messages ("invalid number of passes: 'a\\033'"):
    in single quotes, C escapes, other unprintable bytes in octal. Never a raw control byte."""
    raw = os.fsencode(value)
    return "'" + "".join(_C_ESCAPES.get(b) or (chr(b) if 0x20 <= b < 0x7F else f"\\{b:03o}") for b in raw) + "'"


def display(path: str | bytes | os.PathLike) -> str:
    """A printable form: UTF-8 as is, other bytes as \\xNN, control characters escaped."""
    raw = os.fsencode(path)
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode() for c in text)


def to_json(path: str | bytes | os.PathLike) -> dict:
    """JSON fields for a path: ``path`` (text) plus ``path_b64`` when the bytes are not UTF-8."""
    raw = os.fsencode(path)
    try:
        return {"path": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"path": display(raw), "path_b64": base64.b64encode(raw).decode("ascii")}


def from_json(doc: dict) -> bytes:
    if "path_b64" in doc:
        return base64.b64decode(doc["path_b64"])
    return doc["path"].encode("utf-8")


def gnu_human(n: int, *, ceiling: bool) -> str:
    """A byte count as GNU shred's -v progress writes it ("1.5GiB", "512MiB", "100B"): powers
    of 1024, one decimal below 10; the offset rounded down, the size up. GNU rounds in steps,
    keeping only the tenths and whether the rest was nothing, under a half, a half or over:
    the same steps here give the same figures (checked against ls -lh, which shares them)."""
    base, amount, tenths, rounding, exponent = 1024, n, 0, 0, 0
    suffix = ""
    if amount >= base:
        while True:
            r10 = (amount % base) * 10 + tenths
            r2 = (r10 % base) * 2 + (rounding >> 1)
            amount //= base
            tenths = r10 // base
            rounding = int(r2 + rounding != 0) if r2 < base else 2 + (base < r2 + rounding)
            exponent += 1
            if not (base <= amount and exponent < 8):
                break
        if amount < 10:
            if ceiling and rounding > 0:
                tenths, rounding = tenths + 1, 0
                if tenths == 10:
                    amount, tenths = amount + 1, 0
            if amount < 10:
                suffix = f".{tenths}"
                tenths = rounding = 0
    if ceiling and tenths + rounding > 0:
        amount += 1
        if amount == base and exponent < 8:
            exponent, amount, suffix = exponent + 1, 1, ".0"
    unit = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi")[exponent]
    return f"{amount}{suffix}{unit}B"
