"""Shared fixtures: both engines, the root lab, strict CI switches.

SCRUB_REQUIRE_NATIVE=1  fail the session if the compiled engine did not load.
SCRUB_REQUIRE_LAB=1     fail (not skip) root lab tests that cannot run here.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

import scrub

sys.path.insert(0, str(Path(__file__).parent))
import lab as lab_module  # noqa: E402

ENGINES = ["native", "python"]


def pytest_sessionstart(session):
    if os.environ.get("SCRUB_REQUIRE_NATIVE") == "1" and not scrub.HAVE_NATIVE:
        raise pytest.UsageError(f"SCRUB_REQUIRE_NATIVE=1 but the native engine is not loaded: {scrub.UNAVAILABLE_REASON}")


def pytest_report_header(config):
    return f"scrub engine: {'native' if scrub.HAVE_NATIVE else 'python fallback: ' + str(scrub.UNAVAILABLE_REASON)}"


@pytest.fixture(params=ENGINES)
def engine(request):
    """Each engine by name; the native one skips only where it is not built (and CI forbids that)."""
    if request.param == "native" and not scrub.HAVE_NATIVE:
        pytest.skip(f"native engine not loaded: {scrub.UNAVAILABLE_REASON}")
    return request.param


def require_lab():
    missing = lab_module.missing_requirements()
    if missing:
        reason = f"lab needs {', '.join(missing)}"
        if os.environ.get("SCRUB_REQUIRE_LAB") == "1":
            pytest.fail(f"SCRUB_REQUIRE_LAB=1: {reason}")
        pytest.skip(reason)


@pytest.fixture
def lab(tmp_path_factory):
    """Loop devices and mounts that are always undone, pass or fail.  Images live under
    /var/tmp (a disk file system), not a tmpfs /tmp."""
    require_lab()
    base = Path(os.environ.get("SCRUB_LAB_DIR", "/var/tmp"))
    work = Path(tmp_path_factory.mktemp("lab", numbered=True)) if not base.exists() else None
    if work is None:
        import tempfile

        work = Path(tempfile.mkdtemp(prefix="scrub-lab-", dir=base))
    the_lab = lab_module.Lab(work)
    try:
        yield the_lab
    finally:
        the_lab.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def require_root():
    if os.geteuid() != 0:
        if os.environ.get("SCRUB_REQUIRE_LAB") == "1":
            pytest.fail("SCRUB_REQUIRE_LAB=1: this test needs root")
        pytest.skip("needs root")
