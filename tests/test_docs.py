"""docs/ sections generated from the catalogs are current, and every catalog id is documented."""

import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).parent.parent / "docs"


def test_generated_docs_are_current():
    proc = subprocess.run([sys.executable, str(DOCS / "generate.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_finding_and_scheme_is_documented():
    from scrub import schemes
    from scrub.storage.findings import CATALOG

    remanence = (DOCS / "remanence.md").read_text()
    assert all(f"`{fid}`" in remanence for fid in CATALOG)
    scheme_doc = (DOCS / "schemes.md").read_text()
    assert all(f"`{s.id}`" in scheme_doc for s in schemes.SCHEMES)
