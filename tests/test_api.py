"""The public API: every name in scrub.__all__ resolves, and the heavy parts load lazily."""

import subprocess
import sys

import scrub


def test_every_public_name_resolves():
    for name in scrub.__all__:
        getattr(scrub, name)  # raises AttributeError if a public name does not resolve
    assert callable(scrub.scan) and callable(scrub.histories.histories) and callable(scrub.audit.audit)
    assert callable(scrub.manifest.manifest) and callable(scrub.histories.check)


def test_import_scrub_does_not_load_discovery():
    code = "import sys, scrub; print(sorted(m for m in sys.modules if m.startswith('scrub.discover') or m == 'psutil'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_distribution_and_console_script_names():
    """The distribution is scrub-remanence (scrub on PyPI is another project) and its console
    script is scrub-remanence (Debian's /usr/bin/scrub is LLNL scrub: never shadowed)."""
    from importlib.metadata import distribution

    dist = distribution("scrub-remanence")
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {"scrub-remanence": "scrub.cli:main"}
