"""Regenerate the parts of docs/ that come from scrub's data (schemes, storage findings).

Each generated block sits between <!-- generated:NAME --> and <!-- /generated:NAME -->.
    python docs/generate.py           rewrite the blocks
    python docs/generate.py --check   exit 1 if a block is out of date (tests run this)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from scrub import schemes
from scrub.discover import catalog
from scrub.storage.findings import CATALOG, SEVERITIES

DOCS = Path(__file__).parent


def schemes_table() -> str:
    rows = ["| id | passes | sequence | reference | note |", "|---|---|---|---|---|"]
    for s in schemes.SCHEMES:
        seq = " ".join(p.label for p in s.passes)
        rows.append(f"| `{s.id}` | {len(s.passes)} | {seq} | {s.reference} | {s.note} |")
    rows.append("| `pattern:HEX` | 1 | the given 1 to 16 bytes | user supplied | |")
    return "\n".join(rows)


def findings_table() -> str:
    out = []
    for sev in SEVERITIES:
        out.append(f"\n### {sev}\n")
        out.append("| id | what | what survives, where | what to do |")
        out.append("|---|---|---|---|")
        for fid, spec in CATALOG.items():
            if spec.severity == sev:
                out.append(f"| `{fid}` | {spec.title} | {spec.survives} | {spec.remedy} |")
    return "\n".join(out).lstrip("\n")


def _catalog_rows(entries) -> str:
    rows = ["| id | application / stash | class | patterns | moved by | needs in content | reference |",
            "|---|---|---|---|---|---|---|"]
    for e in entries:
        pats = "<br>".join(f"`{p}`" + ("/" if e.directory else "") for p in e.patterns)
        needs = ", ".join(f"`{n}`" for n in e.needs[:4]) + (" ..." if len(e.needs) > 4 else "")
        env = ", ".join(f"`{v}`" for v in e.env)
        rows.append(f"| `{e.id}` | {e.app} | {e.cls} | {pats} | {env} | {needs} | {e.reference} |")
    return "\n".join(rows)


def histories_table() -> str:
    return _catalog_rows(catalog.HISTORIES)


def credentials_table() -> str:
    return _catalog_rows(catalog.CREDENTIALS)


def system_table() -> str:
    return _catalog_rows(catalog.SYSTEM)


BLOCKS = {"schemes.md": {"schemes": schemes_table}, "remanence.md": {"findings": findings_table},
          "catalog.md": {"histories": histories_table, "credentials": credentials_table, "system": system_table}}


def render(text: str, blocks: dict) -> str:
    for name, fn in blocks.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"missing generated block {name}")
        body = fn()
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main(argv: list[str]) -> int:
    stale = []
    for filename, blocks in BLOCKS.items():
        path = DOCS / filename
        old = path.read_text()
        new = render(old, blocks)
        if new != old:
            stale.append(filename)
            if "--check" not in argv:
                path.write_text(new)
    if stale and "--check" in argv:
        print(f"out of date: {', '.join(stale)} (run python docs/generate.py)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
