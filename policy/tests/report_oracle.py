#!/usr/bin/env python3
"""Independent checks of the reports stella-policy writes (tests/report_*.rs).

Usage:
  report_oracle.py validate SCHEMA FILE        JSON-schema validation (draft 4/7)
  report_oracle.py mutations SCHEMA FILE       the schema rejects broken copies
  report_oracle.py check-sarif FILE EXPECTED   every expected finding is in the log
  report_oracle.py check-findings FILE EXPECTED

EXPECTED is a JSON list written by the test from its input findings:
{id, purl, label, kind, name, version, installed, fixed, evidence, layer,
 rating, vex, vectors: [[kind, vector]...]}. The SARIF and findings files
are read with Python's json module only, never with stella's structs.
CVSS base scores are recomputed with Red Hat's `cvss` package.

Exit status 0 when everything holds, 1 with the problems on stderr.
"""

import copy
import hashlib
import json
import sys
import urllib.parse

import jsonschema


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def schema_errors(schema, doc):
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    v = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return sorted(
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in v.iter_errors(doc)
    )


def validate(schema_path, file_path):
    return schema_errors(load(schema_path), load(file_path))


def mutations(schema_path, file_path):
    schema, doc = load(schema_path), load(file_path)
    problems = [f"original invalid: {e}" for e in schema_errors(schema, doc)]
    run = lambda d: d["runs"][0]  # noqa: E731
    cases = {
        "no version": lambda d: d.pop("version"),
        "no runs": lambda d: d.pop("runs"),
        "no tool": lambda d: run(d).pop("tool"),
        "no driver name": lambda d: run(d)["tool"]["driver"].pop("name"),
        "no result message": lambda d: run(d)["results"][0].pop("message"),
        "level not an enum value": lambda d: run(d)["results"][0].__setitem__("level", "fatal"),
        "rule without id": lambda d: run(d)["tool"]["driver"]["rules"][0].pop("id"),
        "unknown result field": lambda d: run(d)["results"][0].__setitem__("severity", "high"),
        "suppression without kind": lambda d: next(
            r for r in run(d)["results"] if "suppressions" in r
        )["suppressions"][0].pop("kind"),
        "version 2.0.0": lambda d: d.__setitem__("version", "2.0.0"),
    }
    for name, mutate in cases.items():
        broken = copy.deepcopy(doc)
        mutate(broken)
        if not schema_errors(schema, broken):
            problems.append(f"schema accepted a log with {name}")
    return problems


def cvss_score(kind, vector):
    from cvss import CVSS2, CVSS3, CVSS4

    if kind == "cvssV2":
        return float(CVSS2(vector).base_score)
    if kind == "cvssV3":
        return float(CVSS3(vector).base_score)
    if kind == "cvssV4":
        return float(CVSS4(vector).base_score)
    return None


LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note",
         "none": "note", "unknown": "note"}


def uri(path):
    return urllib.parse.quote(path.lstrip("/"), safe="/-._~!$&'()*+,;=@")


def check_sarif(file_path, expected_path):
    log, expected = load(file_path), load(expected_path)
    problems = []
    if log.get("version") != "2.1.0" or len(log.get("runs", [])) != 1:
        return ["not one SARIF 2.1.0 run"]
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    if driver.get("name") != "stella":
        problems.append(f"driver name {driver.get('name')!r}")
    rules = driver.get("rules", [])
    rule_ids = [r["id"] for r in rules]
    if rule_ids != sorted(set(rule_ids)):
        problems.append(f"rules not one per id in order: {rule_ids}")
    if sorted(set(e["id"] for e in expected)) != rule_ids:
        problems.append(f"rule ids {rule_ids} != advisory ids")
    results = run.get("results", [])
    if len(results) != len(expected):
        problems.append(f"{len(results)} results for {len(expected)} findings")

    # security-severity: the highest recomputed base score per advisory.
    for rule in rules:
        scores = [
            cvss_score(k, v)
            for e in expected if e["id"] == rule["id"]
            for k, v in e["vectors"]
        ]
        scores = [s for s in scores if s is not None]
        want = f"{max(scores):.1f}" if scores else None
        got = rule.get("properties", {}).get("security-severity")
        if got != want:
            problems.append(f"{rule['id']}: security-severity {got!r}, cvss says {want!r}")
        if not rule.get("shortDescription", {}).get("text"):
            problems.append(f"{rule['id']}: no shortDescription")

    fingerprints = {}
    for e in expected:
        where = f"{e['id']} {e['label']} {e['evidence']}"
        want_uri = uri(e["evidence"] or e["label"])
        hits = [
            r for r in results
            if r.get("ruleId") == e["id"]
            and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == want_uri
        ]
        if len(hits) != 1:
            problems.append(f"{where}: {len(hits)} results at uri {want_uri!r}")
            continue
        r = hits[0]
        if rules[r["ruleIndex"]]["id"] != e["id"]:
            problems.append(f"{where}: ruleIndex points at {rules[r['ruleIndex']]['id']}")
        if r.get("level") != LEVEL[e["rating"]]:
            problems.append(f"{where}: level {r.get('level')} for {e['rating']}")
        text = r["message"]["text"]
        for part in (e["name"], e["installed"], e["fixed"], e["layer"]):
            if part and part not in text:
                problems.append(f"{where}: message lacks {part!r}: {text!r}")
        suppressed = e["vex"] in ("not_affected", "fixed")
        sup = r.get("suppressions", [])
        if suppressed != bool(sup):
            problems.append(f"{where}: vex {e['vex']} but suppressions {sup}")
        for s in sup:
            if s.get("kind") != "external" or e["vex"] not in s.get("justification", ""):
                problems.append(f"{where}: suppression {s}")
        logical = r["locations"][0].get("logicalLocations", [{}])[0].get("fullyQualifiedName")
        if logical != e["label"]:
            problems.append(f"{where}: logical location {logical!r}")
        fp = r.get("partialFingerprints", {}).get("stellaFinding/v1")
        want_fp = hashlib.sha256(f"{e['id']}\0{e['label']}".encode()).hexdigest()[:32]
        if fp != want_fp:
            problems.append(f"{where}: fingerprint {fp} != {want_fp}")
        fingerprints.setdefault(fp, set()).add((e["id"], e["label"]))
    for fp, keys in fingerprints.items():
        if len(keys) > 1:
            problems.append(f"fingerprint {fp} shared by {keys}")
    return problems


def check_findings(file_path, expected_path):
    doc, expected = load(file_path), load(expected_path)
    problems = []
    if doc.get("schema") != "stella-findings@1":
        problems.append(f"schema {doc.get('schema')!r}")
    findings = doc.get("findings", [])
    kinds = {"deb": 0, "apk": 1, "rpm": 2, "npm": 3, "pypi": 4, "maven": 5, "golang": 6,
             "cargo": 7, "nuget": 8, "composer": 9, "gem": 10}
    key = lambda f: (  # noqa: E731  Finding::sort_key, written down independently
        f["id"], f["component"].get("purl", ""), kinds[f["component"]["kind"]],
        f["component"]["name"], f["component"]["version"],
        (f["component"].get("evidence") or [None])[0] or "",
    )
    if [key(f) for f in findings] != sorted(key(f) for f in findings):
        problems.append("findings are not in sort-key order")
    if len(findings) != len(expected):
        problems.append(f"{len(findings)} findings for {len(expected)} expected")
    for e in expected:
        hits = [
            f for f in findings
            if f["id"] == e["id"]
            and f["component"]["name"] == e["name"]
            and f["component"]["version"] == e["version"]
            and f["installedVersion"] == e["installed"]
            and f.get("fixedVersion") == e["fixed"]
            and (f["component"].get("evidence") or [None])[0] == e["evidence"]
            and f["component"].get("purl") == e["purl"]
            and (f.get("vex") or {}).get("state") == e["vex"]
        ]
        if len(hits) != 1:
            problems.append(f"{e['id']} {e['label']} {e['evidence']}: {len(hits)} matches")
    return problems


def main(argv):
    commands = {
        "validate": validate,
        "mutations": mutations,
        "check-sarif": check_sarif,
        "check-findings": check_findings,
    }
    if len(argv) != 4 or argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    problems = commands[argv[1]](argv[2], argv[3])
    for p in problems:
        print(f"  - {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"ok {argv[1]} {argv[3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
