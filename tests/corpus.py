"""A real-format key corpus, generated at test time with the real tools (ssh-keygen,
openssl, gpg, keytool, puttygen), plus credential files and near misses written here.

``build(dir)`` returns {relative name: expected signal id, or None for must-stay-quiet}.
Tools that are missing are listed in ``missing``; tests skip (or fail under
SCRUB_REQUIRE_LAB=1) on those entries only.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import string
import subprocess
from pathlib import Path

PW = "corpus-pass-123"
TOOLS = ("ssh-keygen", "openssl", "gpg", "keytool", "puttygen")


def _run(cwd: Path, *cmd: str, env=None) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, env=env)


def random_aws_id() -> str:
    return "AKIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def random_b64(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(n))


def random_alnum(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


def build(d: Path) -> tuple[dict[str, str | None], list[str]]:
    d.mkdir(parents=True, exist_ok=True)
    expect: dict[str, str | None] = {}
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if "ssh-keygen" not in missing:
        for name, args, sig in (
            ("id_ed25519", ["-t", "ed25519", "-N", ""], "openssh-private-key"),
            ("id_rsa", ["-t", "rsa", "-b", "2048", "-N", ""], "openssh-private-key"),
            ("id_ecdsa", ["-t", "ecdsa", "-N", ""], "openssh-private-key"),
            ("id_ed25519_enc", ["-t", "ed25519", "-N", PW], "openssh-private-key"),
            ("rsa_pkcs1", ["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", ""], "pem-private-key"),
            ("rsa_pkcs1_enc", ["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", PW], "pem-private-key"),
            ("ec_sec1", ["-t", "ecdsa", "-m", "PEM", "-N", ""], "pem-private-key"),
            ("rsa_pkcs8", ["-t", "rsa", "-b", "2048", "-m", "PKCS8", "-N", ""], "pem-private-key"),
        ):
            _run(d, "ssh-keygen", "-q", *args, "-f", name)
            expect[name] = sig
            expect[name + ".pub"] = None
    if "openssl" not in missing:
        for cmd in (["genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "server.key"],
                    ["genpkey", "-quiet", "-algorithm", "ED25519", "-out", "ed25519.key"],
                    ["genpkey", "-quiet", "-algorithm", "RSA", "-aes-256-cbc", "-pass", f"pass:{PW}", "-out", "enc-pkcs8.key"],
                    ["genrsa", "-traditional", "-aes256", "-passout", f"pass:{PW}", "-out", "legacy-enc.key", "2048"],
                    ["ecparam", "-name", "prime256v1", "-genkey", "-out", "ecparam.pem"],
                    ["pkcs8", "-topk8", "-nocrypt", "-in", "server.key", "-outform", "DER", "-out", "server.key.der"],
                    ["rsa", "-in", "server.key", "-traditional", "-outform", "DER", "-out", "rsa1.der"],
                    ["req", "-x509", "-new", "-key", "server.key", "-subj", "/CN=host", "-days", "30", "-out", "server.crt"],
                    ["x509", "-in", "server.crt", "-outform", "DER", "-out", "server.der"],
                    ["req", "-new", "-key", "server.key", "-subj", "/CN=csr", "-out", "req.csr"],
                    ["pkey", "-in", "server.key", "-pubout", "-out", "server.pub.pem"],
                    ["pkcs12", "-export", "-inkey", "server.key", "-in", "server.crt", "-name", "srv", "-passout", f"pass:{PW}",
                     "-out", "server.p12"],
                    ["pkcs12", "-export", "-keypbe", "NONE", "-certpbe", "NONE", "-nomac", "-inkey", "server.key", "-in",
                     "server.crt", "-passout", "pass:", "-out", "nopass.p12"],
                    ["pkcs12", "-export", "-nokeys", "-in", "server.crt", "-passout", "pass:x", "-out", "certonly.p12"]):
            _run(d, "openssl", *cmd)
        (d / "bundle.pem").write_bytes((d / "server.crt").read_bytes() + (d / "server.key").read_bytes())
        shutil.copy(d / "server.p12", d / "identity")  # PKCS#12 without an extension
        expect.update({"server.key": "pem-private-key", "ed25519.key": "pem-private-key", "enc-pkcs8.key": "pem-private-key",
                       "legacy-enc.key": "pem-private-key", "ecparam.pem": "pem-private-key",
                       "server.key.der": "der-private-key", "rsa1.der": "der-private-key", "server.crt": None, "server.der": None,
                       "req.csr": None, "server.pub.pem": None, "server.p12": "pkcs12-private-key",
                       "nopass.p12": "pkcs12-private-key", "identity": "pkcs12-private-key", "certonly.p12": None,
                       "bundle.pem": "pem-private-key"})
        sa_key = (d / "server.key").read_text()
        (d / "gcp-sa.json").write_text(json.dumps({"type": "service_account", "project_id": "p", "private_key_id": "abc",
                                                   "private_key": sa_key, "client_email": "svc@p.iam.gserviceaccount.com"}))
        expect["gcp-sa.json"] = "gcp-service-account"
        pem = base64.b64encode((d / "rsa1.der").read_bytes())
        pkcs1 = b"-----BEGIN RSA PRIVATE KEY-----\n" + b"\n".join(pem[i:i + 64] for i in range(0, len(pem), 64)) + \
            b"\n-----END RSA PRIVATE KEY-----\n"
        (d / "kubeconfig").write_text("apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n"
                                      f"    client-key-data: {base64.b64encode(pkcs1).decode()}\n")
        expect["kubeconfig"] = "pem-private-key"
    if "keytool" not in missing and "openssl" not in missing:
        kt = ["keytool", "-noprompt"]
        _run(d, *kt, "-genkeypair", "-alias", "app", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=app", "-validity",
             "30", "-storetype", "JKS", "-keystore", "keystore.jks", "-storepass", PW, "-keypass", PW)
        _run(d, *kt, "-genseckey", "-alias", "s", "-keyalg", "AES", "-keysize", "128", "-storetype", "JCEKS", "-keystore",
             "secret.jceks", "-storepass", PW, "-keypass", PW)
        _run(d, *kt, "-importcert", "-alias", "ca", "-file", "server.crt", "-storetype", "PKCS12", "-keystore",
             "truststore.p12", "-storepass", "changeit")
        _run(d, *kt, "-importcert", "-alias", "ca", "-file", "server.crt", "-storetype", "JKS", "-keystore",
             "truststore.jks", "-storepass", "changeit")
        _run(d, *kt, "-genkeypair", "-alias", "app", "-keyalg", "EC", "-dname", "CN=app", "-validity", "30", "-storetype",
             "PKCS12", "-keystore", "keystore.p12.jks", "-storepass", PW)
        expect.update({"keystore.jks": "jks-keystore", "secret.jceks": "jceks-keystore", "truststore.p12": None,
                       "truststore.jks": None, "keystore.p12.jks": "pkcs12-private-key"})
    if "puttygen" not in missing:
        _run(d, "puttygen", "-q", "-t", "rsa", "-b", "2048", "-o", "putty-v3.ppk", "--new-passphrase", "/dev/null")
        _run(d, "puttygen", "-q", "-t", "ed25519", "--ppk-param", "version=2", "-o", "putty-v2.ppk", "--new-passphrase",
             "/dev/null")
        (d / "pw.txt").write_text(PW + "\n")
        _run(d, "puttygen", "-q", "-t", "ecdsa", "-b", "256", "-o", "putty-enc.ppk", "--new-passphrase", "pw.txt")
        (d / "pw.txt").unlink()
        _run(d, "puttygen", "putty-v3.ppk", "-O", "private-sshcom", "-o", "sshcom.key")
        expect.update({"putty-v3.ppk": "putty-private-key", "putty-v2.ppk": "putty-private-key",
                       "putty-enc.ppk": "putty-private-key", "sshcom.key": "sshcom-private-key"})
    if "gpg" not in missing:
        home = d / "gnupg-home"
        home.mkdir(mode=0o700)
        env = dict(os.environ, GNUPGHOME=str(home))
        gpg = ["gpg", "-q", "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
        _run(d, *gpg, "--quick-gen-key", "Alice <a@corp>", "ed25519", "sign", "never", env=env)
        (d / "secret.asc").write_bytes(subprocess.run(gpg + ["--armor", "--export-secret-keys"], env=env, check=True,
                                                      capture_output=True).stdout)
        (d / "secret.gpg").write_bytes(subprocess.run(gpg + ["--export-secret-keys"], env=env, check=True,
                                                      capture_output=True).stdout)
        (d / "public.asc").write_bytes(subprocess.run(["gpg", "--batch", "--armor", "--export"], env=env, check=True,
                                                      capture_output=True).stdout)
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True)
        agent_key = next((home / "private-keys-v1.d").iterdir())
        shutil.copy(agent_key, d / "agent.key")
        shutil.rmtree(home)
        expect.update({"secret.asc": "pgp-private-key", "secret.gpg": "pgp-private-key", "public.asc": None,
                       "agent.key": "gpg-agent-key"})
    # credential files and tokens (formats written here; the values are random)
    aws_id, aws_secret = random_aws_id(), random_b64(40)
    files = {
        "aws-credentials": (f"[default]\naws_access_key_id = {aws_id}\naws_secret_access_key = {aws_secret}\n", "aws-access-key"),
        "aws-doc-example": ("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", None),
        "docker-config.json": (json.dumps({"auths": {"registry.example.com": {"auth": base64.b64encode(b"u:p4ss").decode()}}}),
                               "docker-auth"),
        "docker-credstore.json": (json.dumps({"auths": {"registry.example.com": {}}, "credsStore": "pass"}), None),
        ".netrc": ("machine api.example.com\n  login alice\n  password " + random_alnum(16) + "\n", "netrc-password"),
        ".pgpass": ("db.example.com:5432:app:alice:" + random_alnum(12) + "\n", "pgpass-password"),
        "git-credentials": (f"https://alice:ghp_{random_alnum(36)}@github.com\n", "github-token"),
        "bash_history": (f"ls\nexport AWS_SECRET_ACCESS_KEY={random_b64(40)}\nmysql -u root -p\n", "aws-secret-key"),
        "slack.txt": (f"token: xoxb-{random_alnum(12)}-{random_alnum(24)}\n", "slack-token"),
        "age-keys.txt": ("# created: 2026\nAGE-SECRET-KEY-1" + "".join(secrets.choice("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L")
                                                                        for _ in range(58)) + "\n", "age-secret-key"),
        "wg0.conf": ("[Interface]\nPrivateKey = " + base64.b64encode(secrets.token_bytes(32)).decode() + "\n", "wireguard-private-key"),
        # near misses
        "pem_in_code.py": ('HEADER = "-----BEGIN RSA PRIVATE KEY-----"\nFOOTER = "-----END RSA PRIVATE KEY-----"\n', None),
        "placeholder.pem": ("-----BEGIN PRIVATE KEY-----\n<paste your key here>\n-----END PRIVATE KEY-----\n", None),
        "short-body.pem": ("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", None),
        "url-placeholder.txt": ("see https://user:password@example.com/ for the format\n", None),
        "filler.txt": ("the quick brown fox jumps over the lazy dog\n" * 40, None),
    }
    for name, (text, sig) in files.items():
        (d / name).write_text(text)
        expect[name] = sig
    return expect, missing
