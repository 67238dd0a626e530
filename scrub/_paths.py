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
