"""SARIF 2.1.0 for scan results (what code-scanning dashboards ingest)."""

from __future__ import annotations

import os
from urllib.parse import quote

import scrub
from scrub.discover import catalog

LEVELS = {"secret": "error", "grant": "error", "history": "warning", "identity": "note", "privacy": "note"}


def _rule_id(f) -> str:
    return f.catalog_id or ",".join(sorted({s.id for s in f.signals if s.secret})) or "content"


def scan_to_sarif(report) -> dict:
    rules: dict[str, dict] = {}
    results = []
    for f in report.findings:
        if f.benign:
            continue
        rid = _rule_id(f)
        if rid not in rules:
            entry = catalog.BY_ID.get(f.catalog_id) if f.catalog_id else None
            rules[rid] = {"id": rid, "shortDescription": {"text": entry.app if entry else "private key or token found by content"},
                          "properties": {"class": f.cls}, "defaultConfiguration": {"level": LEVELS[f.cls]}}
            if entry and entry.reference:
                rules[rid]["help"] = {"text": entry.reference}
        results.append({
            "ruleId": rid, "level": LEVELS[f.cls], "message": {"text": f"{f.cls}: {f.evidence} (user {f.user})"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": quote(f.path.lstrip(b"/"), safe="/"),
                                                                     "uriBaseId": "ROOT"}}}],
            "partialFingerprints": {"scrubFinding/v1": f.fingerprint},
            "properties": {"user": f.user, "class": f.cls, "kind": f.kind},
        })
    root_uri = "file://" + quote(os.path.realpath(report.root).rstrip(b"/") + b"/", safe="/")
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "scrub", "version": scrub.__version__, "rules": list(rules.values())}},
            "originalUriBaseIds": {"ROOT": {"uri": root_uri}},
            "results": results,
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": [
                {"level": "warning", "message": {"text": f"could not read {os.fsdecode(p)}: {m}"}} for p, m in report.errors]}],
        }],
    }
