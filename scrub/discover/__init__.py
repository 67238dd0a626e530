"""Find what must not ship: history files and credential stashes, by path and by content.

>>> report = scrub.discover.scan("/mnt/image")
>>> [(f.user, f.cls, f.path) for f in report.findings]
"""

from scrub.discover.catalog import ALL as CATALOG, BY_ID, CLASSES, Entry
from scrub.discover.scan import Finding, ScanReport, Scanner, scan
from scrub.discover.signatures import Signal, classify
from scrub.discover.users import User, parse_passwd

__all__ = ["CATALOG", "BY_ID", "CLASSES", "Entry", "Finding", "ScanReport", "Scanner", "scan", "Signal", "classify", "User",
           "parse_passwd"]
