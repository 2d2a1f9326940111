#!/usr/bin/env python3
"""Checks a CycloneDX BOM's vulnerabilities section against the findings
the test put in (tests/vulnerabilities.rs), reading the BOM with Python's
json module only; CVSS base scores are recomputed with Red Hat's `cvss`.

Usage: vulnerabilities_oracle.py BOM EXPECTED
Exit 0 when every check holds, 1 with the problems on stderr.
"""

import json
import sys

STATE = {"not_affected": "not_affected", "affected": "exploitable",
         "fixed": "resolved", "under_investigation": "in_triage"}
METHOD = {"cvssV2": "CVSSv2", "cvssV4": "CVSSv4"}


def cvss_score(kind, vector):
    from cvss import CVSS2, CVSS3, CVSS4

    cls = {"cvssV2": CVSS2, "cvssV3": CVSS3, "cvssV4": CVSS4}.get(kind)
    return float(cls(vector).base_score) if cls else None


def method(kind, vector):
    if kind == "cvssV3":
        return "CVSSv31" if vector.startswith("CVSS:3.1/") else "CVSSv3"
    return METHOD.get(kind, "other")


def main(bom_path, expected_path):
    with open(bom_path, encoding="utf-8") as f:
        bom = json.load(f)
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    problems = []
    components = {c["bom-ref"]: c for c in bom.get("components", [])}
    vulns = bom.get("vulnerabilities", [])
    refs = [c["bom-ref"] for c in bom.get("components", [])] + [v["bom-ref"] for v in vulns]
    refs.append(bom["metadata"]["component"]["bom-ref"])
    if len(refs) != len(set(refs)):
        problems.append("bom-refs are not unique")
    if len(vulns) != len(expected):
        problems.append(f"{len(vulns)} vulnerabilities for {len(expected)} findings")

    for e in expected:
        where = f"{e['id']} {e['purl']} {e['evidence']}"

        def about(v):
            ref = v["affects"][0]["ref"]
            c = components.get(ref, {})
            locations = [o["location"] for o in c.get("evidence", {}).get("occurrences", [])]
            return c.get("purl") == e["purl"] and "/" + e["evidence"] in locations

        hits = [v for v in vulns if v.get("id") == e["id"] and about(v)]
        if len(hits) != 1:
            problems.append(f"{where}: {len(hits)} vulnerabilities")
            continue
        v = hits[0]
        if len(v["affects"]) != 1:
            problems.append(f"{where}: affects {v['affects']}")
        versions = v["affects"][0].get("versions", [])
        if versions != [{"version": e["version"], "status": "affected"}]:
            problems.append(f"{where}: versions {versions}")
        if e["fixed"] and e["fixed"] not in v.get("recommendation", ""):
            problems.append(f"{where}: recommendation {v.get('recommendation')!r}")
        if e["summary"] and v.get("description") != e["summary"]:
            problems.append(f"{where}: description {v.get('description')!r}")
        if e["published"] and v.get("published") != e["published"]:
            problems.append(f"{where}: published {v.get('published')!r}")
        ref_ids = sorted(r["id"] for r in v.get("references", []))
        if ref_ids != sorted(set(e["aliases"]) - {e["id"]}):
            problems.append(f"{where}: references {ref_ids} != aliases {e['aliases']}")
        if not v.get("source", {}).get("name"):
            problems.append(f"{where}: no source name")
        ratings = v.get("ratings", [])
        if len(ratings) != len(e["vectors"]):
            problems.append(f"{where}: {len(ratings)} ratings for {len(e['vectors'])} severities")
        for kind, vector in e["vectors"]:
            want = cvss_score(kind, vector)
            found = [r for r in ratings if r.get("vector") == vector]
            if len(found) != 1:
                problems.append(f"{where}: no rating with vector {vector}")
                continue
            r = found[0]
            if r.get("method") != method(kind, vector):
                problems.append(f"{where}: method {r.get('method')} for {kind} {vector}")
            if want is not None and r.get("score") != want:
                problems.append(f"{where}: score {r.get('score')}, cvss says {want}")
        analysis = v.get("analysis")
        if e["vex"] is None:
            if analysis is not None:
                problems.append(f"{where}: analysis without VEX")
        else:
            if not analysis or analysis.get("state") != STATE[e["vex"]]:
                problems.append(f"{where}: analysis {analysis} for vex {e['vex']}")
            elif e["justification"] and e["justification"] != "vulnerable_code_cannot_be_controlled_by_adversary":
                if "justification" not in analysis:
                    problems.append(f"{where}: justification dropped")
            elif e["justification"] and e["justification"] not in analysis.get("detail", ""):
                problems.append(f"{where}: unmapped justification not kept in detail")
    for p in problems:
        print(f"  - {p}", file=sys.stderr)
    if not problems:
        print(f"ok {bom_path}")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
