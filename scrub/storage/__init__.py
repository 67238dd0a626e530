"""Why an overwrite of a file may not erase it: the storage stack under it, and findings.

>>> report = scrub.storage.inspect("/var/lib/secret")
>>> [(f.id, f.severity) for f in report.findings]
"""

from scrub.storage._sys import PROCFS_PATH, SYSFS_PATH
from scrub.storage.blockdev import Layer
from scrub.storage.findings import CATALOG, SEVERITIES, Finding, Spec
from scrub.storage.inspect import Inspector, StorageReport, inspect
from scrub.storage.mounts import Mount, Swap, parse_mountinfo, parse_swaps

__all__ = ["PROCFS_PATH", "SYSFS_PATH", "Layer", "CATALOG", "SEVERITIES", "Finding", "Spec", "Inspector",
           "StorageReport", "inspect", "Mount", "Swap", "parse_mountinfo", "parse_swaps"]
