"""Oracle for feeds/tests/versions_pep440.rs: Python's packaging.version.

Reads a JSON list of [a, b] pairs on stdin; writes a JSON list with, per pair,
[order, str(Version(a)) or null, str(Version(b)) or null], where order is
"<", "=", ">" or null when either version is invalid.
"""
import json
import sys

import packaging
from packaging.version import InvalidVersion, Version


def parse(text):
    try:
        return Version(text)
    except InvalidVersion:
        return None


out = []
for a, b in json.load(sys.stdin):
    va, vb = parse(a), parse(b)
    order = None
    if va is not None and vb is not None:
        order = "<" if va < vb else ">" if va > vb else "="
    out.append([order, None if va is None else str(va), None if vb is None else str(vb)])
json.dump({"packaging": packaging.__version__, "results": out}, sys.stdout)
