"""One test per catalog entry: a fake root with a file (or directory) at the entry's first
pattern, holding content that satisfies the entry; the scan must report it under that id."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import pytest

from scrub.discover import catalog, scan

HOME = "home/alice"


def synthetic_private_key() -> str:
    """A structurally valid PKCS#8 RSA key (outer DER length exact): enough for catalog tests;
    real keys from real tools are in test_signatures."""
    inner = b"\x02\x01\x00" + bytes.fromhex("300d06092a864886f70d0101010500") + b"\x04\x82\x01\x00" + os.urandom(256)
    der = b"\x30\x82" + len(inner).to_bytes(2, "big") + inner
    b64 = base64.b64encode(der).decode()
    return "-----BEGIN PRIVATE KEY-----\n" + "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64)) + "\n-----END PRIVATE KEY-----\n"


def content_for(entry: catalog.Entry, name: str) -> str:
    needs = set(entry.needs)
    if not needs:
        return "history line\n" if entry.cls == "history" else "content of a stash\n"
    if needs & {"pem-private-key", "openssh-private-key"}:
        return synthetic_private_key()
    if "x509-certificate" in needs:
        return "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2Vy\n-----END CERTIFICATE-----\n"
    if "docker-auth" in needs:
        return json.dumps({"auths": {"r.example": {"auth": base64.b64encode(b"u:p").decode()}}})
    if "age-secret-key" in needs:
        return "AGE-SECRET-KEY-1" + "Q" * 58 + "\n"
    if "mount-password" in needs:
        return "//srv/share /mnt cifs username=u,password=s3cretpw 0 0\n"
    return "//registry.example/:_authToken=npm_" + "a1B2" * 9 + "\ntoken = ghp_" + "a1B2" * 9 + "\n"


def concrete(pattern: str) -> str:
    p = pattern.replace("**/", "").replace("{data}", ".local/share").replace("{state}", ".local/state")
    p = p.replace("{config}", ".config").replace("{cache}", ".cache")
    p = re.sub(r"\[([^\]])[^\]]*\]", r"\1", p)
    return p.replace("*", "x").replace("?", "x")


def place(root: Path, entry: catalog.Entry) -> Path:
    rel = concrete(entry.patterns[0])
    path = root / rel.lstrip("/") if entry.scope == "system" else root / HOME / rel
    if entry.directory:
        path.mkdir(parents=True, exist_ok=True)
        (path / "item").write_text("x")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content_for(entry, path.name))
    return path


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    root = tmp_path_factory.mktemp("catalog-root")
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n")
    (root / HOME).mkdir(parents=True)
    placed = {e.id: place(root, e) for e in catalog.ALL}
    report = scan(root)
    return root, placed, {f.path: f for f in report.findings}, report


@pytest.mark.parametrize("entry", catalog.ALL, ids=lambda e: e.id)
def test_catalog_entry_is_found(scanned, entry):
    root, placed, found, _ = scanned
    path = os.fsencode("/" + str(placed[entry.id].relative_to(root)))
    assert path in found, f"{entry.id}: nothing reported at {path!r}"
    f = found[path]
    assert f.catalog_id == entry.id, f"{path!r} reported as {f.catalog_id}, expected {entry.id}"
    assert f.cls == entry.cls and f.user == ("system" if entry.scope == "system" else "alice")
    assert f.kind == ("dir" if entry.directory else "file")


def test_catalog_sizes_and_classes():
    histories = [e for e in catalog.HISTORIES if e.cls in ("history", "privacy")]
    stashes = catalog.CREDENTIALS + catalog.SYSTEM
    assert len(histories) >= 60 and len(stashes) >= 60
    assert {e.cls for e in catalog.ALL} == set(catalog.CLASSES)
    assert all(e.reference for e in catalog.ALL)


def test_nothing_else_is_reported(scanned):
    _, placed, found, report = scanned
    expected = {os.fsencode("/" + str(p.relative_to(scanned[0]))) for p in placed.values()}
    assert set(found) - expected == set(), "reported paths that no entry placed"
    assert not report.errors
