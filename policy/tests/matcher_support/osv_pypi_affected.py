"""Independent oracle for the matcher's PyPI range evaluation.

Reads OSV YAML records (PyYAML) and, for each (package, version) asked on
stdin as JSON {"records": [paths], "queries": [[name, version], ...]},
prints JSON [[name, version, [ids...]] | [name, version, null]] where ids
are the records affecting that version by OSV's evaluation with PEP 440
ordering (`packaging.version.Version`): a version is affected when it is
in a range (events sorted by version, `introduced` opens, `fixed` closes
exclusive, `last_affected` closes inclusive, `limit` ignored; `0` is below
everything) or equal to a listed version. Withdrawn records affect
nothing. `null`: packaging cannot parse the version.
"""
import json
import re
import sys

import yaml
from packaging.version import InvalidVersion, Version


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def key(v):
    return (0, None) if v == "0" else (1, Version(v))


def in_range(events, version):
    evs = []
    for e in events:
        ((kind, v),) = e.items()
        if kind == "limit":
            continue
        evs.append((key(v), kind, v))
    evs.sort(key=lambda t: (t[0][0], t[0][1] if t[0][1] is not None else Version("0")))
    affected = False
    for (_, kind, v) in evs:
        if kind == "introduced":
            if v == "0" or version >= Version(v):
                affected = True
        elif kind == "fixed":
            if version >= Version(v):
                affected = False
        elif kind == "last_affected":
            if version > Version(v):
                affected = False
    return affected


def affected_ids(records, name, version):
    ids = []
    for rec in records:
        if rec.get("withdrawn"):
            continue
        for a in rec.get("affected", []):
            if a["package"]["ecosystem"] != "PyPI" or norm(a["package"]["name"]) != norm(name):
                continue
            hit = any(
                in_range(r["events"], version)
                for r in a.get("ranges", [])
                if r["type"] != "GIT"
            )
            for listed in a.get("versions", []):
                try:
                    if Version(listed) == version:
                        hit = True
                except InvalidVersion:
                    if listed == str(version):
                        hit = True
            if hit:
                ids.append(rec["id"])
                break
    return sorted(set(ids))


def main():
    req = json.load(sys.stdin)
    records = [yaml.safe_load(open(p)) for p in req["records"]]
    out = []
    for name, v in req["queries"]:
        try:
            version = Version(v)
        except InvalidVersion:
            out.append([name, v, None])
            continue
        out.append([name, v, affected_ids(records, name, version)])
    json.dump(out, sys.stdout)


main()
