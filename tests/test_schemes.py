"""Every scheme is well formed, and GNU shred's -n selection keeps its documented shape."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from scrub import schemes
from scrub.schemes import RANDOM, Pass


@pytest.mark.parametrize("scheme", schemes.SCHEMES, ids=lambda s: s.id)
def test_scheme_is_well_formed(scheme):
    assert scheme.id == scheme.id.lower() and " " not in scheme.id
    assert scheme.passes and scheme.name and scheme.reference
    for p in scheme.passes:
        assert p.random or 1 <= len(p.pattern) <= 3
    assert schemes.lookup(scheme.id) is scheme


EXPECTED = {
    "shred": ["random"] * 3,
    "random": ["random"],
    "zero": ["00"],
    "nist-clear": ["00"],
    "dod-3": ["00", "ff", "random"],
    "dod-7": ["00", "ff", "random", "96", "00", "ff", "random"],
    "vsitr": ["00", "ff", "00", "ff", "00", "ff", "aa"],
    "bsi": ["ff", "fe", "fd", "fb", "f7", "ef", "df", "bf", "7f"],
    "schneier": ["00", "ff"] + ["random"] * 5,
    "gutmann": ["random"] * 4 + ["55", "aa", "924924", "492492", "249249", "00", "11", "22", "33", "44", "55", "66",
                                 "77", "88", "99", "aa", "bb", "cc", "dd", "ee", "ff", "924924", "492492", "249249",
                                 "6db6db", "b6db6d", "db6db6"] + ["random"] * 4,
}


def test_every_scheme_has_a_pinned_sequence():
    assert set(EXPECTED) == {s.id for s in schemes.SCHEMES}
    for s in schemes.SCHEMES:
        assert [p.label for p in s.passes] == EXPECTED[s.id], s.id


def test_custom_pattern_and_errors():
    assert schemes.lookup("pattern:deadbeef").passes == (Pass(bytes.fromhex("deadbeef")),)
    for bad in ("pattern:", "pattern:zz", "pattern:" + "00" * 17, "nope"):
        with pytest.raises(ValueError):
            schemes.lookup(bad)


@given(st.binary(min_size=1, max_size=16), st.integers(0, 10_000), st.integers(0, 5000), st.booleans())
def test_fill_is_a_function_of_the_file_offset(pattern, offset, n, flip):
    p = Pass(pattern, flip_sector=flip)
    whole = bytearray(offset + n)
    p.fill(whole, 0)
    part = bytearray(n)
    p.fill(part, offset)
    assert part == whole[offset:]


def test_sector_flip_marks_the_first_byte_of_each_sector():
    buf = bytearray(1536)
    Pass(b"\x24\x92\x49", flip_sector=True).fill(buf, 0)
    assert buf[0] == 0x24 ^ 0x80 and buf[1] == 0x92 and buf[512] == (b"\x24\x92\x49"[512 % 3]) ^ 0x80


@pytest.mark.parametrize("n", [1, 2, 3])
def test_shred_small_counts_are_all_random(n):
    assert schemes.shred_passes(n) == (RANDOM,) * n


def test_shred_four_passes():
    p = schemes.shred_passes(4)
    assert p[0] is RANDOM and p[3] is RANDOM and {p[1].label, p[2].label} == {"00", "ff"}


@given(st.integers(0, 120))
def test_shred_selection_shape(n):
    p = schemes.shred_passes(n)
    assert len(p) == n
    if n >= 2:
        assert p[0].random and p[-1].random
    fixed = [(x.pattern, x.flip_sector) for x in p if not x.random]
    if n <= 49:  # within one cycle of the pool no fixed pattern repeats
        assert len(fixed) == len(set(fixed))


def test_shred_twenty_passes_take_whole_groups():
    labels = sorted(x.label for x in schemes.shred_passes(20))
    fixed = sorted(["00", "ff", "55", "aa", "249249", "492492", "6db6db", "924924", "b6db6d", "db6db6"])
    assert set(fixed) <= set(labels) and labels.count("random") == 3
    # the 4-bit group of 12 only partly fits: 7 of its patterns are chosen at random
    four_bit = {"11", "22", "33", "44", "66", "77", "88", "99", "bb", "cc", "dd", "ee"}
    assert len([x for x in labels if x in four_bit]) == 7
