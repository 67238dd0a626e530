"""The remanence lab: no silent survivor.

For each storage configuration a file full of a unique marker is overwritten by
`python3 -m scrub shred`, the file systems are unmounted and the raw images searched.
Where a marker survives, scrub must have reported an `ineffective` finding naming the
cause (and `shred --strict` must have refused); where it reported none, no marker may
remain.  The expectation per configuration (from measurements) also guards against a tool
that calls everything ineffective.
"""

from __future__ import annotations

import os

import pytest

import lab as L

CONFIGS = {c.name: c for c in L.configurations()}
OUTCOMES: list[L.Outcome] = []


@pytest.mark.parametrize("name", list(CONFIGS))
def test_no_silent_survivor(lab, name):
    cfg = CONFIGS[name]
    out = L.run_config(lab, cfg)
    OUTCOMES.append(out)
    assert out.before > 0, "the marker never reached the image"
    if out.after:  # the rule: a survivor was named, with its cause, and --strict refused
        assert out.ineffective, f"{out.after} markers survived but no ineffective finding: {out.findings}"
        assert set(out.ineffective) & set(cfg.causes), (out.ineffective, cfg.causes)
        assert out.strict_refused
    else:
        assert not out.strict_refused or out.ineffective
    # and the verdict is not "everything is ineffective": it matches what the lab measured
    assert bool(out.after) == cfg.survives, f"expected survives={cfg.survives}, counted {out.after}"
    assert bool(out.ineffective) == cfg.survives, f"verdict {out.ineffective} for a config where survives={cfg.survives}"


@pytest.fixture(scope="module", autouse=True)
def _print_table(request):
    yield
    if OUTCOMES:
        text = L.table(OUTCOMES, CONFIGS)
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line("\nremanence lab:\n" + text)
        path = os.environ.get("SCRUB_LAB_TABLE")
        if path:
            with open(path, "w") as fh:
                fh.write(text + "\n")
