"""Content signatures: what a file's first bytes say it holds.

Private keys are recognised by structure, not by a header line: a PEM body must decode to
DER whose outer length matches, or to an OpenSSH/OpenPGP key; a placeholder between markers
or a header string in source code stays quiet.  Certificates and public keys are context
(``secret=False``).  Evidence never contains secret bytes: only kinds, algorithms, lengths
and masked prefixes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field

from scrub._native import MultiFind

HEAD = 64 << 10  # bytes sniffed from files found by --deep
CATALOG_HEAD = 1 << 20  # bytes read from files a catalog entry names


@dataclass
class Signal:
    id: str  # stable signature id
    secret: bool  # False: context (certificates, public keys)
    evidence: str  # redacted description
    attributes: dict = field(default_factory=dict)
    offset: int = 0  # byte offset of the match in the file

    def to_json(self) -> dict:
        return {"id": self.id, "secret": self.secret, "evidence": self.evidence, "attributes": self.attributes,
                "offset": self.offset}


# ---------------------------------------------------------------------------------------
# DER helpers


def der_length(data: bytes, pos: int) -> tuple[int, int] | None:
    """(length, offset of the content) of the DER element at pos, or None."""
    if pos + 2 > len(data):
        return None
    first = data[pos + 1]
    if first < 0x80:
        return first, pos + 2
    n = first & 0x7F
    if n == 0 or n > 4 or pos + 2 + n > len(data):
        return None
    return int.from_bytes(data[pos + 2:pos + 2 + n], "big"), pos + 2 + n


def der_whole(data: bytes) -> bool:
    """A single DER SEQUENCE spanning exactly ``data``."""
    if not data or data[0] != 0x30:
        return False
    got = der_length(data, 0)
    return got is not None and got[1] + got[0] == len(data)


OID_RSA = bytes.fromhex("06092a864886f70d010101")
OID_EC = bytes.fromhex("06072a8648ce3d0201")
OID_ED25519 = bytes.fromhex("06032b6570")
OID_ED448 = bytes.fromhex("06032b6571")
OID_X25519 = bytes.fromhex("06032b656e")
OID_DSA = bytes.fromhex("06072a8648ce380401")
OID_PBES2 = bytes.fromhex("06092a864886f70d01050d")
OID_PKCS12_PBE = bytes.fromhex("060a2a864886f70d010c01")  # prefix of pbeWithSHAAnd... family
OID_DATA = bytes.fromhex("06092a864886f70d010701")
OID_SIGNED = bytes.fromhex("06092a864886f70d010702")
OID_KEYBAG = bytes.fromhex("060b2a864886f70d010c0a0101")
OID_SHROUDED = bytes.fromhex("060b2a864886f70d010c0a0102")
OID_CERTBAG = bytes.fromhex("060b2a864886f70d010c0a0103")


def classify_der_key(der: bytes) -> tuple[str, bool] | None:
    """(format, encrypted) of a DER private key structure, or None."""
    if not der_whole(der):
        return None
    got = der_length(der, 0)
    body = der[got[1]:]
    if body[:3] == b"\x02\x01\x00":  # version 0: PKCS#1 RSA/DSA or PKCS#8
        rest = body[3:]
        if rest[:1] == b"\x30":  # AlgorithmIdentifier: PKCS#8
            for oid, alg in ((OID_RSA, "rsa"), (OID_EC, "ec"), (OID_ED25519, "ed25519"), (OID_ED448, "ed448"),
                             (OID_X25519, "x25519"), (OID_DSA, "dsa")):
                if oid in rest[:40]:
                    return f"pkcs8-{alg}", False
            return "pkcs8", False
        if rest[:1] == b"\x02":  # INTEGER modulus (RSA) or p (DSA)
            return "pkcs1", False
        return None
    if body[:3] == b"\x02\x01\x01" and body[3:4] == b"\x04":  # SEC1 ECPrivateKey
        return "sec1-ec", False
    if body[:1] == b"\x30" and (OID_PBES2 in body[:24] or OID_PKCS12_PBE in body[:24]):
        return "pkcs8-encrypted", True
    return None


# ---------------------------------------------------------------------------------------
# PEM


_PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]{3,40})-----")
_PEM_END = re.compile(rb"-----END ([A-Z0-9 ]{3,40})-----")
PEM_MAX_BODY = 20000


def pem_blocks(data: bytes):
    """(label, body, start) of every PEM block, as a lazy ``BEGIN X ... END X`` regex with a
    back-reference would find them, but in O(n log n): every END marker is indexed once and
    each BEGIN looks up the first END of its label within PEM_MAX_BODY bytes.  (The regex
    costs O(n x 20000): 8 s for 1 MiB of unterminated headers.)"""
    import bisect

    ends: dict[bytes, list[tuple[int, int]]] = {}
    for m in _PEM_END.finditer(data):
        ends.setdefault(m.group(1), []).append((m.start(), m.end()))
    pos = 0
    for m in _PEM_BEGIN.finditer(data):
        if m.start() < pos:
            continue  # inside the block just returned
        label = m.group(1)
        cands = ends.get(label)
        if not cands:
            continue
        k = bisect.bisect_left(cands, (m.end(), -1))
        if k == len(cands) or cands[k][0] - m.end() > PEM_MAX_BODY:
            continue
        yield label, data[m.end():cands[k][0]], m.start()
        pos = cands[k][1]
_B64_OK = re.compile(rb"^[A-Za-z0-9+/=\s]+$")
CONTEXT_LABELS = {b"CERTIFICATE": "x509-certificate", b"TRUSTED CERTIFICATE": "x509-certificate",
                  b"X509 CERTIFICATE": "x509-certificate", b"CERTIFICATE REQUEST": "x509-csr",
                  b"NEW CERTIFICATE REQUEST": "x509-csr", b"X509 CRL": "x509-crl", b"PUBLIC KEY": "public-key",
                  b"RSA PUBLIC KEY": "public-key", b"PGP PUBLIC KEY BLOCK": "pgp-public-key",
                  b"EC PARAMETERS": "ec-parameters"}


def _pem_body(block: bytes) -> tuple[dict[bytes, bytes], bytes]:
    """RFC 1421 headers (Proc-Type, DEK-Info; armor headers) and the base64 body."""
    lines = block.replace(b"\r", b"").split(b"\n")
    headers, body = {}, []
    in_headers = True
    for line in lines:
        s = line.strip()
        if in_headers and b":" in s and not _B64_OK.match(s):
            k, _, v = s.partition(b":")
            headers[k.strip()] = v.strip()
            continue
        if s:
            in_headers = False
            body.append(s)
    return headers, b"".join(body)


def _b64(text: bytes) -> bytes | None:
    if not text or not _B64_OK.match(text):
        return None
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return None


def _openssh_key(raw: bytes) -> tuple[str, bool] | None:
    """(key type, encrypted) of an openssh-key-v1 blob."""
    magic = b"openssh-key-v1\0"
    if not raw.startswith(magic):
        return None
    pos = len(magic)
    strings = []
    for _ in range(3):  # ciphername, kdfname, kdfoptions
        if pos + 4 > len(raw):
            return None
        n = int.from_bytes(raw[pos:pos + 4], "big")
        strings.append(raw[pos + 4:pos + 4 + n])
        pos += 4 + n
    cipher = strings[0].decode("ascii", "replace")
    keytype = "unknown"
    if pos + 8 <= len(raw):  # number of keys, then the first public key blob: string keytype
        pos += 4
        blob_len = int.from_bytes(raw[pos:pos + 4], "big")
        blob = raw[pos + 4:pos + 4 + blob_len]
        if len(blob) >= 4:
            n = int.from_bytes(blob[:4], "big")
            keytype = blob[4:4 + n].decode("ascii", "replace")
    return keytype, cipher != "none"


def _pgp_secret_packet(raw: bytes) -> tuple[bool, bool] | None:
    """(is a secret key packet, encrypted) for the first OpenPGP packet of ``raw``."""
    if not raw:
        return None
    b = raw[0]
    if not b & 0x80:
        return None
    if b & 0x40:  # new format
        tag = b & 0x3F
        if len(raw) < 2:
            return None
        first = raw[1]
        hdr = 2 if first < 192 else (3 if first < 224 else 6)
    else:
        tag = (b >> 2) & 0x0F
        hdr = {0: 2, 1: 3, 2: 5}.get(b & 3, 1)
    if tag not in (5, 7):
        return False, False
    body = raw[hdr:]
    if not body or body[0] not in (3, 4, 5, 6):
        return None
    version = body[0]
    # v4: version(1) time(4) algo(1) then public MPIs; the S2K usage octet follows them.
    try:
        pos = 6
        algo = body[5]
        counts = {1: 2, 2: 2, 3: 2, 16: 3, 17: 4, 18: 3, 19: 2, 22: 2}.get(algo)
        if version != 4 or counts is None:
            return True, False
        if algo in (18, 19, 22):  # ECDH/ECDSA/EdDSA: curve OID then MPIs
            oid_len = body[pos]
            pos += 1 + oid_len
            counts = 2 if algo == 18 else 1
            if algo == 18:  # ECDH: point MPI then KDF params (length-prefixed)
                bits = int.from_bytes(body[pos:pos + 2], "big")
                pos += 2 + (bits + 7) // 8
                pos += 1 + body[pos]
                counts = 0
        for _ in range(counts):
            bits = int.from_bytes(body[pos:pos + 2], "big")
            pos += 2 + (bits + 7) // 8
        return True, body[pos] != 0
    except IndexError:
        return True, False


def _armor_payload(block: bytes) -> bytes:
    """The packets of an ASCII-armored block: armor headers end at the first blank line, the
    "=XXXX" line is the checksum."""
    lines = [line.strip() for line in block.replace(b"\r", b"").split(b"\n")]
    if b"" in lines[1:]:
        first_blank = lines.index(b"", 1)
        if any(b":" in line for line in lines[1:first_blank]):
            lines = lines[first_blank:]
    body = b"".join(line for line in lines if line and not line.startswith(b"="))
    return _b64(body) or b""


def pem_signals(data: bytes, *, base_offset: int = 0) -> list[Signal]:
    out = []
    for label, block, start in pem_blocks(data):
        offset = base_offset + start
        if label in CONTEXT_LABELS:
            out.append(Signal(CONTEXT_LABELS[label], False, f"{label.decode()} (public material)", {}, offset))
            continue
        if label == b"PGP PRIVATE KEY BLOCK":
            got = _pgp_secret_packet(_armor_payload(block))
            if got and got[0]:
                out.append(Signal("pgp-private-key", True, f"OpenPGP secret key (armored), {'encrypted' if got[1] else 'not encrypted'}",
                                  {"encrypted": got[1]}, offset))
            continue
        if label == b"OpenVPN Static key V1":
            continue
        if not label.endswith(b"PRIVATE KEY"):
            continue
        headers, body = _pem_body(block)
        raw = _b64(body)
        if raw is None or len(body) < 40:
            continue  # a placeholder between markers, not a key
        encrypted = b"ENCRYPTED" in label or headers.get(b"Proc-Type", b"").endswith(b"ENCRYPTED")
        if label == b"OPENSSH PRIVATE KEY":
            got = _openssh_key(raw)
            if got is None:
                continue
            keytype, enc = got
            out.append(Signal("openssh-private-key", True, f"OpenSSH private key ({keytype}), {'encrypted' if enc else 'not encrypted'}",
                              {"encrypted": enc, "key_type": keytype}, offset))
            continue
        if headers.get(b"Proc-Type", b"").endswith(b"ENCRYPTED"):
            # legacy encrypted PEM: the body is ciphertext, so only its length can be checked
            if len(raw) >= 64 and len(raw) % 8 == 0:
                out.append(Signal("pem-private-key", True, f"{label.decode()} (legacy PEM), encrypted",
                                  {"encrypted": True, "label": label.decode()}, offset))
            continue
        fmt = classify_der_key(raw)
        if fmt is None:
            continue
        state = "encrypted" if encrypted or fmt[1] else "not encrypted"
        out.append(Signal("pem-private-key", True, f"{label.decode()} ({fmt[0]}), {state}",
                          {"encrypted": encrypted or fmt[1], "label": label.decode(), "format": fmt[0]}, offset))
    return out


_ESCAPED_PEM = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:\\r)?\\n[A-Za-z0-9+/=\\nr]{40,}?-----END [A-Z ]*PRIVATE KEY-----")
_B64_PEM = re.compile(rb"LS0tLS1CRUdJTi[A-Za-z0-9+/=]{40,}")


def wrapped_pem_signals(data: bytes) -> list[Signal]:
    """PEM inside JSON/YAML strings (``\\n`` escapes) and base64-wrapped PEM (kubeconfig)."""
    out = []
    for m in _ESCAPED_PEM.finditer(data):
        text = m.group(0).replace(b"\\r", b"").replace(b"\\n", b"\n")
        for s in pem_signals(text, base_offset=m.start()):
            s.attributes["wrapping"] = "json-escaped"
            out.append(s)
    for m in _B64_PEM.finditer(data):
        inner = _b64(m.group(0))
        if inner:
            for s in pem_signals(inner, base_offset=m.start()):
                s.attributes["wrapping"] = "base64"
                s.evidence += ", base64-wrapped"
                out.append(s)
    return out


# ---------------------------------------------------------------------------------------
# Other text formats


_PUTTY = re.compile(rb"^PuTTY-User-Key-File-([123]): ([\w.@-]+)\r?\nEncryption: ([\w-]+)", re.M)
_SSHCOM_BEGIN = b"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----"
_SSHCOM_END = b"---- END SSH2 ENCRYPTED PRIVATE KEY ----"


def _sshcom_blocks(data: bytes):
    """(start, body) of each ssh.com block in linear time (a lazy regex rescans the rest of
    the input for every BEGIN without an END: minutes for 1 MiB of them)."""
    pos = 0
    while True:
        start = data.find(_SSHCOM_BEGIN, pos)
        if start < 0:
            return
        end = data.find(_SSHCOM_END, start + len(_SSHCOM_BEGIN))
        if end < 0:
            return  # no END after this BEGIN: none after any later one either
        yield start, data[start + len(_SSHCOM_BEGIN):end]
        pos = end + len(_SSHCOM_END)
_GPG_AGENT = re.compile(rb"^(?:Key: \((?:protected-)?private-key|\(11:private-key|\(21:protected-private-key)", re.M)
_AGE = re.compile(rb"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}")
_WIREGUARD = re.compile(rb"^\s*PrivateKey\s*=\s*([A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)\s*$", re.M)
_OPENVPN = re.compile(rb"-----BEGIN OpenVPN Static key V1-----\s+(?:[0-9a-f]{32}\s+){16}-----END OpenVPN Static key V1-----")


def other_key_signals(data: bytes) -> list[Signal]:
    out = []
    for m in (_PUTTY.finditer(data) if b"PuTTY-User-Key-File-" in data else ()):
        if b"Private-Lines:" in data[m.end():m.end() + 4096]:
            enc = m.group(3) != b"none"
            out.append(Signal("putty-private-key", True, f"PuTTY v{m.group(1).decode()} private key ({m.group(2).decode()}), "
                              f"{'encrypted' if enc else 'not encrypted'}", {"encrypted": enc, "version": int(m.group(1))}, m.start()))
    for start, block in _sshcom_blocks(data):
        _, body = _pem_body(re.sub(rb"^Comment:.*$", b"", block, flags=re.M))
        raw = _b64(body)
        if raw and raw[:4] == bytes.fromhex("3f6ff9eb") and len(raw) > 16:
            n = int.from_bytes(raw[8:12], "big")
            keytype_end = 12 + n
            cn = int.from_bytes(raw[keytype_end:keytype_end + 4], "big")
            cipher = raw[keytype_end + 4:keytype_end + 4 + cn]
            enc = cipher != b"none"
            out.append(Signal("sshcom-private-key", True, f"ssh.com SSH2 private key, {'encrypted' if enc else 'not encrypted'}",
                              {"encrypted": enc}, start))
    m = _GPG_AGENT.search(data[:4096]) if b"private-key" in data[:4096] else None
    if m:
        enc = b"protected-private-key" in m.group(0)
        out.append(Signal("gpg-agent-key", True, f"gpg-agent private key file, {'protected' if enc else 'not protected'}",
                          {"encrypted": enc}, m.start()))
    for m in (_AGE.finditer(data) if b"AGE-SECRET-KEY-1" in data else ()):
        out.append(Signal("age-secret-key", True, "age secret key", {}, m.start()))
    for m in (_WIREGUARD.finditer(data) if b"PrivateKey" in data else ()):
        out.append(Signal("wireguard-private-key", True, "WireGuard PrivateKey", {}, m.start()))
    for m in (_OPENVPN.finditer(data) if b"OpenVPN Static" in data else ()):
        out.append(Signal("openvpn-static-key", True, "OpenVPN static key", {}, m.start()))
    return out


AWS_DOC_KEYS = {b"AKIAIOSFODNN7EXAMPLE", b"AKIAI44QH8DHBEXAMPLE", b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                b"je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"}
_AWS_ID = re.compile(rb"(?<![A-Z0-9])((?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16})(?![A-Z0-9])")
_AWS_SECRET = re.compile(rb"(?i)aws_?secret_?(?:access_?)?key\W{0,5}\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])")
# (id, literal that must occur for the pattern to match, pattern): the literal check is a
# fast substring search that spares the regex on almost every file.
_TOKENS = (
    ("github-token", (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_"),
     re.compile(rb"(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})(?![A-Za-z0-9_])")),
    ("gitlab-token", (b"glpat-",), re.compile(rb"(?<![A-Za-z0-9_-])(glpat-[A-Za-z0-9_-]{20})(?![A-Za-z0-9_-])")),
    ("slack-token", (b"xox",), re.compile(rb"(?<![A-Za-z0-9-])(xox[abprs]-[A-Za-z0-9-]{10,72})")),
    ("google-api-key", (b"AIza",), re.compile(rb"(?<![A-Za-z0-9_-])(AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])")),
    ("stripe-secret-key", (b"_live_",), re.compile(rb"(?<![A-Za-z0-9_])((?:sk|rk)_live_[0-9A-Za-z]{24,99})")),
    ("vault-token", (b"hvs.",), re.compile(rb"(?<![A-Za-z0-9_.])(hvs\.[A-Za-z0-9_-]{24,})")),
    ("npm-token", (b"npm_",), re.compile(rb"(?<![A-Za-z0-9_])(npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])")),
    ("pypi-token", (b"pypi-AgEIcHlwaS5vcmc",), re.compile(rb"(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})")),
)


def mask(token: bytes, keep: int = 4) -> str:
    """A token as its first characters and its length: never enough to use it."""
    return f"{token[:keep].decode('ascii', 'replace')}…({len(token)} chars)"


_AWS_ID_PREFIXES = (b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"A3T")


def token_signals(data: bytes) -> list[Signal]:
    out = []
    secrets_found = []
    if b"ecret" in data or b"ECRET" in data:
        secrets_found = [m for m in _AWS_SECRET.finditer(data) if m.group(1) not in AWS_DOC_KEYS]
    ids = _AWS_ID.finditer(data) if (b"AKIA" in data or b"ASIA" in data or b"A3T" in data or b"ABIA" in data
                                     or b"ACCA" in data) else ()
    for m in ids:
        if m.group(1) in AWS_DOC_KEYS or m.group(1).endswith(b"EXAMPLE"):
            continue
        paired = bool(secrets_found)
        out.append(Signal("aws-access-key", True, f"AWS access key id {mask(m.group(1))}" + (" with its secret key" if paired else ""),
                          {"paired": paired, "key_type": m.group(1)[:4].decode()}, m.start()))
    if secrets_found and not any(s.id == "aws-access-key" for s in out):
        m = secrets_found[0]
        out.append(Signal("aws-secret-key", True, "AWS secret access key (40 chars)", {}, m.start()))
    for sid, literals, rx in _TOKENS:
        for lit in literals:
            if lit in data:
                break
        else:
            continue
        for m in rx.finditer(data):
            out.append(Signal(sid, True, f"{sid.replace('-', ' ')} {mask(m.group(1))}", {}, m.start()))
    return out


def _json(data: bytes):
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


_URL_CREDENTIALS = re.compile(rb"\b[a-z][a-z0-9+.-]{1,15}://([^\s:/@\"']{1,128}):([^\s@/\"']{3,128})@[A-Za-z0-9.-]+")

# Configuration files whose password or token settings are secrets (scoped by name: a
# "password =" line in an arbitrary file means nothing).
CONFIG_FILES = {b".npmrc", b".yarnrc.yml", b".pypirc", b".my.cnf", b".s3cfg", b".boto", b"gradle.properties", b"settings.xml",
                b"nuget.config", b"cqlshrc", b".wgetrc", b".curlrc", b"pip.conf", b".msmtprc", b".fetchmailrc", b".muttrc",
                b"debian.cnf", b".gitconfig", b"config.fish", b".bashrc", b".zshrc", b".profile"}
_CONFIG_PASSWORD = re.compile(rb"(?im)^[ \t]*(?://\S*:)?((?:_?auth_?token|_auth|_?password|passwd|npmAuthToken|secret_key|"
                              rb"access_token|api_?key|http_passwd|ClearTextPassword)\b[\"']?)\s*[:=]\s*(\S.{2,})$")
PLACEHOLDERS = {b"", b"password", b"changeme", b"xxx", b"***", b"secret", b"<password>", b"none", b"null"}


def credential_file_signals(data: bytes, name: bytes) -> list[Signal]:
    """Formats recognised by their structure: GCP service accounts, docker auths, .netrc,
    .pgpass, git credential stores, URLs with passwords."""
    out = []
    stripped = data.lstrip()
    if stripped[:1] == b"{" and (b'"type"' in data or b'"auths"' in data):
        doc = _json(data)
        if isinstance(doc, dict):
            if doc.get("type") == "service_account" and "private_key" in doc:
                out.append(Signal("gcp-service-account", True, f"GCP service account key ({doc.get('client_email', '?')})",
                                  {"client_email": str(doc.get("client_email", ""))}))
            if doc.get("type") == "authorized_user" and doc.get("refresh_token"):
                out.append(Signal("gcp-user-credentials", True, "GCP user refresh token"))
            auths = doc.get("auths")
            if isinstance(auths, dict):
                regs = [r for r, v in auths.items() if isinstance(v, dict) and (v.get("auth") or v.get("identitytoken")
                                                                             or v.get("password"))]
                if regs:
                    out.append(Signal("docker-auth", True, f"container registry credentials for {len(regs)} registr"
                                      f"{'y' if len(regs) == 1 else 'ies'}", {"registries": sorted(regs)}))
    if name.endswith(b"netrc") or (b"login" in data and b"machine" in data
                                   and re.search(rb"(?m)^\s*(?:machine\s+\S+|default)\s+.*\blogin\s", data[:4096])):
        for m in re.finditer(rb"(?:^|\s)password\s+(\S+)", data):
            out.append(Signal("netrc-password", True, f"netrc password {mask(m.group(1), 0)}", {}, m.start()))
            break
    if b"pgpass" in name:
        for i, line in enumerate(data.splitlines()):
            if line.strip() and not line.startswith(b"#"):
                fields = re.split(rb"(?<!\\):", line)
                if len(fields) == 5 and fields[4]:
                    out.append(Signal("pgpass-password", True, f"PostgreSQL password (line {i + 1})", {"line": i + 1}))
                    break
    if name.rsplit(b"/", 1)[-1].lower() in CONFIG_FILES:
        m = _CONFIG_PASSWORD.search(data)
        if m and m.group(2).strip(b"\"'") not in PLACEHOLDERS and not m.group(2).startswith((b"$", b"%", b"<")):
            out.append(Signal("config-password", True, f"{m.group(1).decode('ascii', 'replace')} set in a configuration file",
                              {"key": m.group(1).decode("ascii", "replace")}, m.start()))
    if name == b"fstab":
        m = re.search(rb"[\s,](?:password|pass)=([^,\s]+)", data)
        if m:
            out.append(Signal("mount-password", True, "mount password in fstab options", {}, m.start()))
    for m in () if b"://" not in data or b"@" not in data else _URL_CREDENTIALS.finditer(data):
        if m.group(2) in (b"password", b"PASSWORD", b"pass", b"secret") or m.group(2).startswith(b"$"):
            continue  # a documented placeholder or a variable, not a value
        out.append(Signal("url-credentials", True, f"URL with user {mask(m.group(1), 2)} and a password", {}, m.start()))
    return out


# ---------------------------------------------------------------------------------------
# Binary formats, by magic


def binary_signals(data: bytes, size: int) -> list[Signal]:
    out: list[Signal] = []
    if data[:4] == b"\xfe\xed\xfe\xed":
        out += _jks(data, "jks")
    elif data[:4] == b"\xce\xce\xce\xce":
        out += _jks(data, "jceks")
    elif data[:1] == b"\x30" and len(data) >= 4:
        p12 = _pkcs12(data)
        if p12 is not None:
            out.append(p12)
        elif len(data) == size and (fmt := classify_der_key(data)):
            out.append(Signal("der-private-key", True, f"DER private key ({fmt[0]}), {'encrypted' if fmt[1] else 'not encrypted'}",
                              {"encrypted": fmt[1], "format": fmt[0]}))
    elif data[:1] and data[0] in (0x94, 0x95, 0x96, 0x97, 0x9C, 0x9D, 0x9E, 0x9F, 0xC5, 0xC7):
        got = _pgp_secret_packet(data)
        if got and got[0]:
            out.append(Signal("pgp-private-key", True, f"OpenPGP secret key (binary), {'encrypted' if got[1] else 'not encrypted'}",
                              {"encrypted": got[1]}))
    elif data[:4] == b"\x03\xd9\xa2\x9a" and data[4:8] in (b"\x67\xfb\x4b\xb5", b"\x65\xfb\x4b\xb5"):
        out.append(Signal("keepass-database", True, "KeePass database"))
    return out


def _pkcs12(data: bytes) -> Signal | None:
    got = der_length(data, 0)
    if got is None:
        return None
    pos = got[1]
    if data[pos:pos + 3] != b"\x02\x01\x03" or data[pos + 3:pos + 4] != b"\x30":
        return None
    if OID_DATA not in data[pos:pos + 40] and OID_SIGNED not in data[pos:pos + 40]:
        return None
    if OID_KEYBAG in data or OID_SHROUDED in data:
        return Signal("pkcs12-private-key", True, "PKCS#12 store holding a private key", {"contents": "key"})
    return Signal("pkcs12-store", False, "PKCS#12 store without a visible key bag (certificates only, or encrypted)",
                  {"contents": "certificates-or-unknown"})


def _jks(data: bytes, kind: str) -> list[Signal]:
    """JKS/JCEKS: walk the entries; tag 1 private key, 2 trusted certificate, 3 secret key."""
    pos = 12
    count = int.from_bytes(data[8:12], "big") if len(data) >= 12 else 0
    try:
        for _ in range(min(count, 1000)):
            tag = int.from_bytes(data[pos:pos + 4], "big")
            if tag in (1, 3):
                what = "private key" if tag == 1 else "secret key"
                return [Signal(f"{kind}-keystore", True, f"{kind.upper()} keystore holding a {what}", {"entries": count})]
            if tag != 2:
                break
            pos += 4
            alias_len = int.from_bytes(data[pos:pos + 2], "big")
            pos += 2 + alias_len + 8
            type_len = int.from_bytes(data[pos:pos + 2], "big")
            pos += 2 + type_len
            cert_len = int.from_bytes(data[pos:pos + 4], "big")
            pos += 4 + cert_len
            if pos > len(data):
                break
    except (IndexError, ValueError):
        pass
    return [Signal(f"{kind}-truststore", False, f"{kind.upper()} store with trusted certificates only", {"entries": count})]


# ---------------------------------------------------------------------------------------


def looks_binary(data: bytes) -> bool:
    return b"\0" in data[:1024]


# Literals without which no text signature can match: most files hold none of them, and
# substring search is far cheaper than any regex.
# (Configuration passwords, .netrc and .pgpass are recognised by file name, see below.)
_TEXT_TRIGGERS = (b"-----BEGIN", b"LS0tLS1CRUdJTi", b"PuTTY-User-Key", b"---- BEGIN SSH2", b"private-key", b"AGE-SECRET-KEY",
                  b"PrivateKey", b"OpenVPN Static", b"AKIA", b"ASIA", b"A3T", b"ABIA", b"ACCA", b"ecret", b"ECRET",
                  b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_", b"glpat-", b"xox", b"AIza", b"_live_",
                  b"hvs.", b"npm_", b"pypi-", b"://", b'"type"', b'"auths"')
_TRIGGERS = MultiFind(_TEXT_TRIGGERS)


def classify(data: bytes, *, name: bytes | str = b"", size: int | None = None) -> list[Signal]:
    """Every signal in ``data`` (the head of a file named ``name`` of ``size`` bytes)."""
    size = len(data) if size is None else size
    if not data:
        return []
    if isinstance(name, str):
        name = name.encode("utf-8", "surrogateescape")
    if b"\0" in data[:1024] or data[:1] == b"\x30" or data[:4] in (b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce"):
        found = binary_signals(data, size)
        if found or b"\0" in data[:1024]:
            return found
    if _TRIGGERS.search(data) < 0 and name.rsplit(b"/", 1)[-1].lower() not in CONFIG_FILES \
            and b"netrc" not in name and b"pgpass" not in name and name != b"fstab":
        return []
    out = []
    if b"-----BEGIN " in data:
        out += pem_signals(data)
    if b"PRIVATE KEY-----\\n" in data or b"PRIVATE KEY-----\\r\\n" in data or b"LS0tLS1CRUdJTi" in data:
        out += wrapped_pem_signals(data)
    out += other_key_signals(data)
    out += token_signals(data)
    out += credential_file_signals(data, name)
    return out
