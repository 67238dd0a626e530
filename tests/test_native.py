"""The keystream generators: known answers from the specs, an independent cross-check
against OpenSSL, random access at any offset, and the stale-build guard."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

import scrub
from scrub import _native
from scrub._native import Keystream, PythonEngine

needs_native = pytest.mark.skipif(not scrub.HAVE_NATIVE, reason=f"native engine not loaded: {scrub.UNAVAILABLE_REASON}")


def native():
    return _native.NativeEngine()


def ks(alg, key: bytes, nonce: bytes) -> Keystream:
    return Keystream(alg, bytearray(key.ljust(32, b"\0")), nonce)


@needs_native
def test_aes128_ctr_sp800_38a_f51():
    # NIST SP 800-38A, F.5.1 CTR-AES128.Encrypt: keystream = ciphertext XOR plaintext
    if native().keystream_algorithm != "aes-128-ctr":
        pytest.skip("no AES-NI on this CPU")
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    ctr = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
    plain = bytes.fromhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
    cipher = bytes.fromhex("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
                           "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee")
    stream = native().keystream(ks("aes-128-ctr", key, ctr), 0, 64)
    assert bytes(a ^ b for a, b in zip(stream, plain, strict=True)) == cipher


@needs_native
def test_chacha20_rfc8439_block_function():
    # RFC 8439 2.3.2: key 00..1f, counter 1, nonce 000000090000004a00000000
    key = bytes(range(32))
    nonce = (1).to_bytes(4, "little") + bytes.fromhex("000000090000004a00000000")
    want = bytes.fromhex("10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
                         "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e")
    assert native().keystream(ks("chacha20", key, nonce), 0, 64) == want


@needs_native
def test_chacha20_rfc8439_a1_zero_vector():
    want = bytes.fromhex("76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
                         "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586")
    assert native().keystream(ks("chacha20", bytes(32), bytes(16)), 0, 64) == want


def _openssl_stream(cipher: str, key: bytes, iv: bytes, n: int) -> bytes:
    out = subprocess.run(["openssl", "enc", f"-{cipher}", "-K", key.hex(), "-iv", iv.hex(), "-nosalt"],
                         input=bytes(n), capture_output=True, check=True)
    return out.stdout[:n]


@needs_native
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
@settings(max_examples=25, deadline=None)
@given(key=st.binary(min_size=16, max_size=16), iv=st.binary(min_size=16, max_size=16),
       near_wrap=st.booleans(), n=st.integers(1, 3000))
def test_aes_ctr_matches_openssl_including_counter_carry(key, iv, near_wrap, n):
    if native().keystream_algorithm != "aes-128-ctr":
        pytest.skip("no AES-NI on this CPU")
    if near_wrap:  # low 64 bits about to wrap: the carry into the high half must match
        iv = iv[:8] + b"\xff" * 7 + b"\xf0"
    assert native().keystream(ks("aes-128-ctr", key, iv), 0, n) == _openssl_stream("aes-128-ctr", key, iv, n)


@needs_native
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
@settings(max_examples=15, deadline=None)
@given(key=st.binary(min_size=32, max_size=32), nonce=st.binary(min_size=12, max_size=12),
       counter=st.integers(0, 1000), n=st.integers(1, 2000))
def test_chacha20_matches_openssl(key, nonce, counter, n):
    iv = counter.to_bytes(4, "little") + nonce  # OpenSSL's 16-byte ChaCha20 IV = our nonce layout
    assert native().keystream(ks("chacha20", key, iv), 0, n) == _openssl_stream("chacha20", key, iv, n)


def _algorithms():
    out = [("python", "shake256-ctr")]
    if scrub.HAVE_NATIVE:
        out.append(("native", "chacha20"))
        if native().keystream_algorithm == "aes-128-ctr":
            out.append(("native", "aes-128-ctr"))
    return out


@pytest.mark.parametrize("engine_name,alg", _algorithms())
@settings(max_examples=40, deadline=None)
@given(offset=st.integers(0, 200_000), n=st.integers(0, 70_000), key=st.binary(min_size=32, max_size=32),
       nonce=st.binary(min_size=16, max_size=16))
def test_keystream_random_access(engine_name, alg, offset, n, key, nonce):
    """The byte at file offset o depends only on (key, nonce, o): verification and resumed
    writes regenerate any range."""
    eng = scrub.engine(engine_name)
    stream = ks(alg, key, nonce)
    assert eng.keystream(stream, offset, n) == eng.keystream(stream, 0, offset + n)[offset:]


def test_python_keystream_is_shake256_counter_mode():
    eng = PythonEngine()
    stream = ks("shake256-ctr", b"k" * 32, b"n" * 16)
    block1 = hashlib.shake_256(b"scrub-ks-v1" + b"k" * 32 + b"n" * 16 + (1).to_bytes(8, "big")).digest(1 << 16)
    assert eng.keystream(stream, (1 << 16) + 5, 100) == block1[5:105]


@pytest.mark.parametrize("engine_name", ["native", "python"])
def test_fresh_keys_differ_and_are_wiped(engine_name):
    if engine_name == "native" and not scrub.HAVE_NATIVE:
        pytest.skip("native engine not loaded")
    eng = scrub.engine(engine_name)
    a, b = eng.new_keystream(), eng.new_keystream()
    assert a.key != b.key and a.nonce != b.nonce
    first = eng.keystream(a, 0, 4096)
    assert any(first) and first != eng.keystream(b, 0, 4096)
    a.wipe()
    assert a.key == bytearray(32)


def test_stale_build_is_refused():
    """A compiled module whose ABI constant differs is never called: the guard names it."""
    import types

    stale = types.SimpleNamespace(lib=types.SimpleNamespace(scrub_native_abi=lambda: _native.EXPECTED_ABI - 1,
                                                            SCRUB_NATIVE_ABI=_native.EXPECTED_ABI - 1))
    reason = _native.check_build(stale)
    assert reason and "stale" in reason and "pip install -e ." in reason
    if scrub.HAVE_NATIVE:
        from scrub import _scrub_cffi

        assert _native.check_build(_scrub_cffi) is None


@needs_native
@settings(max_examples=200, deadline=None)
@given(needles=st.lists(st.binary(min_size=2, max_size=8), min_size=1, max_size=12),
       hay=st.binary(max_size=300), plant=st.booleans())
def test_multifind_native_and_python_agree(needles, hay, plant):
    if plant:
        hay = hay[: len(hay) // 2] + needles[-1] + hay[len(hay) // 2:]
    fast = _native.MultiFind(tuple(needles))
    slow = _native.MultiFind(tuple(needles))
    slow._mf = None  # force the pure-Python path
    got_fast, got_slow = fast.search(hay), slow.search(hay)
    assert (got_fast >= 0) == (got_slow >= 0) == any(n in hay for n in needles)
    if got_fast >= 0:
        assert needles[got_fast] in hay


@needs_native
def test_chacha20_eight_block_path_carries_like_the_single_block_path():
    """Blocks 0..15 from one call (the 8-lane path) equal blocks computed one by one, across a
    carry of the 32-bit counter word into the next one."""
    eng = native()
    nonce = (0xFFFFFFFA).to_bytes(4, "little") + (0xFFFFFFFF).to_bytes(4, "little") + bytes(8)
    stream = ks("chacha20", bytes(range(32)), nonce)
    whole = eng.keystream(stream, 0, 16 * 64)
    assert whole == b"".join(eng.keystream(stream, 64 * j, 64) for j in range(16))
