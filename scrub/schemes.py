"""Overwrite schemes as data: stable ids, the pass sequence, and where each comes from.

Names that mean different sequences in different tools are pinned here to one reading, and
the ``note`` says which; docs/schemes.md is generated from this table.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Callable

SECTOR = 512


@dataclass(frozen=True)
class Pass:
    """One pass: a repeating byte pattern, or random data when ``pattern`` is None.

    ``flip_sector`` flips the top bit of the first byte of every 512-byte sector, as GNU
    shred's pool does for half of its patterns (it shifts the bit phase of MFM/RLL codes).
    """

    pattern: bytes | None = None
    flip_sector: bool = False

    @property
    def random(self) -> bool:
        return self.pattern is None

    @property
    def label(self) -> str:
        if self.pattern is None:
            return "random"
        text = self.pattern.hex()
        return f"{text}+flip" if self.flip_sector else text

    @property
    def gnu_label(self) -> str:
        """The label GNU shred's -v prints: "random", or the pass's first three bytes in hex
        as written (the sector flip included: 0x1111 shows as 911111)."""
        if self.pattern is None:
            return "random"
        head = bytearray((self.pattern * 3)[:3])
        if self.flip_sector:
            head[0] ^= 0x80
        return head.hex()

    def fill(self, buf, offset: int) -> None:
        """Fill ``buf`` with the bytes this pass writes at file offsets offset..offset+len."""
        assert self.pattern is not None
        n = len(buf)
        p = self.pattern
        phase = offset % len(p)
        rotated = p[phase:] + p[:phase]
        reps = n // len(p) + 1
        buf[:n] = (rotated * reps)[:n]
        if self.flip_sector:
            first = (-offset) % SECTOR
            for i in range(first, n, SECTOR):
                buf[i] ^= 0x80


RANDOM = Pass()


def _fixed(*hexes: str) -> tuple[Pass, ...]:
    return tuple(Pass(bytes.fromhex(h)) for h in hexes)


@dataclass(frozen=True)
class Scheme:
    id: str
    name: str
    passes: tuple[Pass, ...]
    reference: str
    note: str = ""
    aliases: tuple[str, ...] = field(default=())


_GUTMANN_FIXED = _fixed(
    "55", "aa", "924924", "492492", "249249",
    "00", "11", "22", "33", "44", "55", "66", "77", "88", "99", "aa", "bb", "cc", "dd", "ee", "ff",
    "924924", "492492", "249249", "6db6db", "b6db6d", "db6db6",
)

SCHEMES: tuple[Scheme, ...] = (
    Scheme(
        "shred", "GNU shred default", (RANDOM,) * 3,
        "GNU coreutils shred, default -n 3",
        "Three random passes; what `shred FILE` does. scrub's default.",
    ),
    Scheme(
        "random", "one random pass", (RANDOM,),
        "GNU shred manual: one pass suffices on modern devices",
        "One CSPRNG pass. Random, not zeros: some flash controllers compress or deduplicate zero blocks.",
    ),
    Scheme("zero", "one zero pass", _fixed("00"), "NIST SP 800-88 Rev. 1, Clear, magnetic media",
           "Zeros only. Flash controllers may deduplicate or trim all-zero writes; prefer `random` there."),
    Scheme(
        "nist-clear", "NIST SP 800-88 Clear (overwrite)", _fixed("00"),
        "NIST SP 800-88 Rev. 1, Table A-8: one pass of a fixed value such as zeros",
        "A file-level overwrite is Clear at best, and only where the storage overwrites in place "
        "(see `python3 -m scrub storage`). Use --verify all to match the guideline's verification.",
    ),
    Scheme(
        "dod-3", "DoD 5220.22-M (E), 3 passes", _fixed("00", "ff") + (RANDOM,),
        "DoD 5220.22-M (1995) overwrite method (E)",
        "Read as 0x00, 0xFF, random (LLNL scrub's `dod` order). nwipe's short DoD uses a random byte, "
        "its complement, then random.",
    ),
    Scheme(
        "dod-7", "DoD 5220.22-M (ECE), 7 passes", _fixed("00", "ff") + (RANDOM,) + _fixed("96", "00", "ff") + (RANDOM,),
        "DoD 5220.22-M (1995) method (ECE): (E), then (C) 0x96, then (E)",
        "nwipe's 7-pass DoD uses random bytes and their complements in place of 0x00/0xFF.",
    ),
    Scheme(
        "vsitr", "BSI VSITR, 7 passes", _fixed("00", "ff", "00", "ff", "00", "ff", "aa"),
        "BSI VSITR (German Federal Office for Information Security, 1999)",
        "Alternating 0x00/0xFF six times, then 0xAA.",
    ),
    Scheme(
        "bsi", "LLNL scrub `bsi`, 9 passes", _fixed("ff", "fe", "fd", "fb", "f7", "ef", "df", "bf", "7f"),
        "LLNL scrub, pattern set `bsi`",
        "Not the same as VSITR: one walking zero bit per pass.",
    ),
    Scheme(
        "schneier", "Bruce Schneier, 7 passes", _fixed("00", "ff") + (RANDOM,) * 5,
        "B. Schneier, Applied Cryptography (2nd ed.), section 10.9",
        "0x00, 0xFF, then five random passes (LLNL scrub's order; nwipe writes 0xFF first).",
    ),
    Scheme(
        "gutmann", "Peter Gutmann, 35 passes", (RANDOM,) * 4 + _GUTMANN_FIXED + (RANDOM,) * 4,
        "P. Gutmann, Secure Deletion of Data from Magnetic and Solid-State Memory, USENIX Security 1996",
        "The 27 fixed patterns in the paper's order (as LLNL scrub); nwipe and wipe shuffle them. "
        "Aimed at MFM/RLL drives of the 1990s; one pass does as much on any current drive.",
    ),
)

BY_ID: dict[str, Scheme] = {}
for _s in SCHEMES:
    for _key in (_s.id, *_s.aliases):
        assert _key not in BY_ID, f"duplicate scheme id {_key}"
        BY_ID[_key] = _s


def custom(pattern_hex: str) -> Scheme:
    """``pattern:HEX``: one pass of a user byte pattern of 1 to 16 bytes."""
    try:
        pattern = bytes.fromhex(pattern_hex.replace(" ", "").removeprefix("0x"))
    except ValueError:
        raise ValueError(f"pattern must be hex bytes, got {pattern_hex!r}") from None
    if not 1 <= len(pattern) <= 16:
        raise ValueError(f"pattern must be 1 to 16 bytes, got {len(pattern)}")
    return Scheme(f"pattern:{pattern.hex()}", "custom byte pattern", (Pass(pattern),), "user supplied")


def lookup(scheme_id: str) -> Scheme:
    if scheme_id.startswith("pattern:"):
        return custom(scheme_id[len("pattern:"):])
    try:
        return BY_ID[scheme_id]
    except KeyError:
        known = ", ".join(s.id for s in SCHEMES)
        raise ValueError(f"unknown scheme {scheme_id!r} (known: {known}, pattern:HEX)") from None


# GNU shred's pool for `-n N` (a fact from its manual and source, re-expressed as data):
# groups of fixed 12-bit codes, or a count of random passes.  Code c is the repeating bytes
# of "ccc ccc" read as hex (0x249 -> 24 92 49); bit 0x1000 adds the per-sector bit flip.
_POOL: tuple[int | tuple[int, ...], ...] = (
    2,
    (0x000, 0xFFF),
    (0x555, 0xAAA),
    1,
    (0x249, 0x492, 0x6DB, 0x924, 0xB6D, 0xDB6),
    (0x111, 0x222, 0x333, 0x444, 0x666, 0x777, 0x888, 0x999, 0xBBB, 0xCCC, 0xDDD, 0xEEE),
    1,
    (0x1000, 0x1249, 0x1492, 0x16DB, 0x1924, 0x1B6D, 0x1DB6, 0x1FFF),
    (0x1111, 0x1222, 0x1333, 0x1444, 0x1555, 0x1666, 0x1777, 0x1888, 0x1999, 0x1AAA, 0x1BBB,
     0x1CCC, 0x1DDD, 0x1EEE),
    1,
)


def _code_pass(code: int) -> Pass:
    c = code & 0xFFF
    pattern = bytes(((c >> 4) & 0xFF, ((c << 4) | (c >> 8)) & 0xFF, c & 0xFF))
    if pattern[0] == pattern[1] == pattern[2]:
        pattern = pattern[:1]
    return Pass(pattern, flip_sector=bool(code & 0x1000))


class ByteChooser:
    """Uniform integers below a bound drawn from a byte stream, keeping the randomness a draw
    did not use for the next one (so that ``--random-source FILE`` picks what GNU shred picks
    from the same FILE: checked against it by tests/test_gnu_compat.py)."""

    def __init__(self, read: Callable[[int], bytes]):
        self.read = read
        self.value = 0  # uniform in 0..self.span
        self.span = 0

    def below(self, choices: int) -> int:
        top = choices - 1
        while True:
            if self.span < top:  # append whole bytes until the range covers the choices
                need, span = 0, self.span
                while span < top:
                    span = span * 256 + 255
                    need += 1
                for b in self.read(need):
                    self.value = self.value * 256 + b
                    self.span = self.span * 256 + 255
            if self.span == top:
                value, self.value, self.span = self.value, 0, 0
                return value
            excess = self.span - top
            unusable = excess % choices
            if self.value <= self.span - unusable:  # inside a whole number of copies of the range
                value = self.value % choices
                self.value //= choices
                self.span = excess // choices
                return value
            self.value %= choices  # the rejected tail is still uniform: keep it
            self.span = unusable - 1


def shred_passes(n: int, read: Callable[[int], bytes] | None = None, *, chooser: ByteChooser | None = None) -> tuple[Pass, ...]:
    """The passes GNU shred's ``-n N`` selects, in its order: whole pool groups while they
    fit; of a partial group a random subset (each member taken with the probability that
    leaves exactly the slots left), or random passes when under 2 slots or a third of the
    group are left; then the random passes spread evenly (first and last random), the fixed
    ones shuffled into the other slots.  ``read(k)`` supplies the random bytes (default the
    OS's CSPRNG); ``chooser`` instead keeps its unused randomness across calls, as GNU's one
    chooser per run does over ``--random-source`` (its exact order)."""
    if n < 0:
        raise ValueError("pass count must be non-negative")
    pick = (chooser or ByteChooser(read or secrets.token_bytes)).below
    fixed: list[int] = []
    nrandom, left, i = 0, n, 0
    while left:
        group = _POOL[i % len(_POOL)]
        i += 1
        if isinstance(group, int):
            take = min(group, left)
            nrandom += take
            left -= take
        elif len(group) <= left:
            fixed.extend(group)
            left -= len(group)
        elif left < 2 or 3 * left < len(group):
            nrandom += left
            left = 0
        else:
            for k, code in zip(range(len(group), 0, -1), group, strict=True):
                if left == k or pick(k) < left:
                    fixed.append(code)
                    left -= 1
                if not left:
                    break
    # Slots 0..n-1: the random passes go where an even spread (a Bresenham step of n-1
    # against nrandom-1) puts them; each other slot takes a fixed pass drawn from those left.
    slots: list[int | None] = list(fixed) + [None] * nrandom
    end = len(fixed)
    step = nrandom - 1
    acc = step
    for j in range(n):
        if acc <= step:
            acc += n - 1
            slots[end] = slots[j]
            end += 1
            slots[j] = None
        else:
            k = j + pick(end - j)
            slots[j], slots[k] = slots[k], slots[j]
        acc -= step
    return tuple(RANDOM if c is None else _code_pass(c) for c in slots)
