#!/usr/bin/env python3
"""Independent oracle of the labeled set: recomputes every true positive of
expected.yaml from the package managers' own listings (build.sh's
ground-truth/: dpkg-query, pip list, rpm -qa, go version -m, the cargo-auditable
.dep-v0 section) and the advisory files, with other programs' version orderings:

  PyPI    packaging.version (PEP 440)
  Go, crates.io   SemVer 2.0 precedence (written here, plain tuple compare)
  Debian  dpkg --compare-versions (dpkg itself)
  rpm     rpm.vercmp of rpm's embedded Lua (rpm itself)

It shares no code with Stella. It fails (exit 1, naming each difference) when
its true positives differ from expected.yaml, when a trap would be reported,
or when a trap is not a real one (the naive reading it guards against must
hit). With `--json FILE` it also writes expected.yaml as JSON (for
cli/tests/labeled.rs, which has no YAML parser).

Usage: oracle.py OUT [--json FILE]     (OUT: build.sh's output directory)
"""

import glob
import json
import os
import re
import subprocess
import sys

import yaml
from packaging.utils import canonicalize_name
from packaging.version import Version as PepVersion

HERE = os.path.dirname(os.path.abspath(__file__))
ADVISORIES = os.path.join(HERE, "advisories")


# --- version orderings -------------------------------------------------------

def semver_key(v):
    m = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?", v)
    if not m:
        raise ValueError(f"not SemVer: {v!r}")
    major, minor, patch, pre = m.groups()
    if pre is None:
        pre_key = (1,)  # a release sorts after all its pre-releases
    else:
        parts = []
        for ident in pre.split("."):
            # numeric identifiers sort before alphanumeric ones
            parts.append((0, int(ident), "") if ident.isdigit() else (1, 0, ident))
        pre_key = (0, tuple(parts))
    return (int(major), int(minor), int(patch), pre_key)


def semver_cmp(a, b):
    ka, kb = semver_key(a), semver_key(b)
    return (ka > kb) - (ka < kb)


def pep440_cmp(a, b):
    va, vb = PepVersion(a), PepVersion(b)
    return (va > vb) - (va < vb)


_dpkg_cache = {}


def deb_cmp(a, b):
    key = (a, b)
    if key not in _dpkg_cache:
        lt = subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0
        eq = subprocess.run(["dpkg", "--compare-versions", a, "eq", b]).returncode == 0
        _dpkg_cache[key] = -1 if lt else (0 if eq else 1)
    return _dpkg_cache[key]


_rpm_cache = {}


def rpm_cmp(a, b):
    key = (a, b)
    if key not in _rpm_cache:
        out = subprocess.run(
            ["rpm", "--define", f"stella_a {a}", "--define", f"stella_b {b}", "--eval",
             '%{lua: print(rpm.vercmp(rpm.expand("%{stella_a}"), rpm.expand("%{stella_b}")))}'],
            check=True, capture_output=True, text=True).stdout.strip()
        _rpm_cache[key] = int(out)
    return _rpm_cache[key]


def zero_for(cmp):
    return "0.0.0-0" if cmp is semver_cmp else "0"


# --- OSV ranges ----------------------------------------------------------------

def interval_of(events, version, cmp):
    """OSV evaluation: sort the events by version, walk them; returns
    (affected, the fixed version that closes the interval holding `version`)."""
    def v(e):
        return next(iter(e.values()))

    def norm(x):
        return zero_for(cmp) if x == "0" else x

    ordered = sorted(events, key=lambda e: _Key(norm(v(e)), cmp))
    affected, closing = False, None
    for e in ordered:
        kind, at = next(iter(e.items()))
        at = norm(at)
        if kind == "introduced" and cmp(version, at) >= 0:
            affected, closing = True, None
        elif kind == "fixed" and cmp(version, at) >= 0:
            affected = False
        elif kind == "last_affected" and cmp(version, at) > 0:
            affected = False
        elif kind == "fixed" and affected and closing is None:
            closing = v(e)
    return affected, (closing if affected else None)


class _Key:
    def __init__(self, v, cmp):
        self.v, self.cmp = v, cmp

    def __lt__(self, other):
        return self.cmp(self.v, other.v) < 0


def osv_hit(affected_entry, version, cmp, naive_no_fix=False):
    """(hit, fixed) of one OSV affected entry for `version`."""
    for r in affected_entry.get("ranges", []):
        if r["type"] not in ("ECOSYSTEM", "SEMVER"):
            continue
        events = r["events"]
        if naive_no_fix and not any("fixed" in e or "last_affected" in e for e in events):
            return True, None
        hit, fixed = interval_of(events, version, cmp)
        if hit:
            return True, fixed
    if version in affected_entry.get("versions", []):
        return True, None
    return False, None


# --- inputs ------------------------------------------------------------------------

def load_osv(subdir):
    out = []
    for path in sorted(glob.glob(os.path.join(ADVISORIES, subdir, "**", "*"), recursive=True)):
        if path.endswith(".json"):
            out.append(json.load(open(path, encoding="utf-8")))
        elif path.endswith(".yaml"):
            out.append(yaml.safe_load(open(path, encoding="utf-8")))
    return out


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def os_owned_python(root):
    """Python distributions whose metadata directory a dpkg .list names:
    (dpkg package, distribution name, version)."""
    out = []
    for lst in sorted(glob.glob(os.path.join(root, "var/lib/dpkg/info/*.list"))):
        package = os.path.basename(lst)[: -len(".list")].split(":")[0]
        for line in open(lst, encoding="utf-8"):
            m = re.search(r"/(?:dist|site)-packages/([^/]+)-([^-/]+)\.(?:egg|dist)-info$", line.strip())
            if m:
                out.append((package, m.group(1), m.group(2)))
    return out


# --- matching ------------------------------------------------------------------------

def hit_record(hits, case, advisory, kind, package, installed, fixed):
    ids = {advisory["id"], *advisory.get("aliases", [])}
    hits.append({"case": case, "id": advisory["id"], "ids": ids, "kind": kind,
                 "package": package, "installed": installed, "fixed": fixed})


def compute(case, out):
    """Every (advisory, component) hit of one case, by the oracle's reading."""
    name = case["rootfs"]
    gt = os.path.join(out, "ground-truth")
    hits = []
    codename = "bookworm" if case["distro"] == {"id": "debian", "version": "12"} else None

    # Debian packages: tracker entries of the source package, this release only.
    if codename:
        tracker = json.load(open(os.path.join(ADVISORIES, "debian-tracker", "bookworm.json")))
        for _, package, version, source, source_version in read_tsv(os.path.join(gt, f"{name}-dpkg.tsv")):
            for cve, entry in sorted(tracker.get(source, {}).items()):
                rel = entry.get("releases", {}).get(codename)
                if not rel:
                    continue
                if rel["status"] == "resolved" and rel.get("fixed_version") not in (None, "0"):
                    if deb_cmp(source_version, rel["fixed_version"]) < 0:
                        hit_record(hits, name, {"id": cve}, "deb", package, version, rel["fixed_version"])
                elif rel["status"] == "open":
                    hit_record(hits, name, {"id": cve}, "deb", package, version, None)

    def osv_matches(records, ecosystem, kind, components, cmp, norm=lambda n: n):
        for record in records:
            if record.get("withdrawn"):
                continue
            for package, version in components:
                for entry in record["affected"]:
                    p = entry["package"]
                    if p["ecosystem"] != ecosystem or norm(p["name"]) != norm(package):
                        continue
                    hit, fixed = osv_hit(entry, version, cmp)
                    if hit:
                        hit_record(hits, name, record, kind, package, version, fixed)
                        break

    pip = [(r[1], r[2]) for r in read_tsv(os.path.join(gt, f"{name}-pip.tsv"))]
    osv_matches(load_osv("osv-pypi"), "PyPI", "pypi", pip, pep440_cmp, canonicalize_name)

    go_version = os.path.join(gt, f"{name}-version.txt")
    if os.path.exists(go_version):
        m = re.search(r"\bgo(\d+\.\d+(?:\.\d+)?)", open(go_version).read())
        osv_matches(load_osv("osv-go"), "Go", "golang", [("stdlib", m.group(1))], semver_cmp)

    crates = [(r[1], r[2]) for r in read_tsv(os.path.join(gt, f"{name}-cargo.tsv"))]
    osv_matches(load_osv("osv-crates"), "crates.io", "cargo", crates, semver_cmp)

    if case["distro"]["id"] == "almalinux":
        eco = "AlmaLinux:" + case["distro"]["version"].split(".")[0]
        rpms = [(r[1], r[2]) for r in read_tsv(os.path.join(gt, f"{name}-rpm.tsv"))]
        osv_matches(load_osv("osv-almalinux9"), eco, "rpm", rpms, rpm_cmp)
    return hits


def same_component(a, b):
    if a["kind"] != b["kind"]:
        return False
    if a["kind"] == "pypi":
        return canonicalize_name(a["package"]) == canonicalize_name(b["package"])
    return a["package"] == b["package"]


def records_by_id():
    by_id = {}
    for sub in ("osv-pypi", "osv-go", "osv-crates", "osv-almalinux9"):
        for r in load_osv(sub):
            by_id[r["id"]] = r
    return by_id


def check_trap(case, trap, out, by_id, errors):
    """A trap must be real: the naive reading it names hits."""
    where = f"{case['name']}: trap {trap['id']} on {trap['package']}"
    kind = trap["trap"]
    record = by_id.get(trap["id"])
    installed = trap["installed"]
    if kind == "os-owned-python":
        owned = os_owned_python(os.path.join(out, "rootfs", case["rootfs"]))
        dist = [(n, v) for pkg, n, v in owned if pkg == trap["package"]]
        if not dist:
            return errors.append(f"{where}: no dpkg-owned python distribution in {trap['package']}")
        name, version = dist[0]
        naive = any(osv_hit(e, version, pep440_cmp)[0] for e in record["affected"]
                    if canonicalize_name(e["package"]["name"]) == canonicalize_name(name))
        if not naive:
            errors.append(f"{where}: PyPI ranges do not contain the OS-owned {name} {version}: not a trap")
    elif kind == "withdrawn":
        if not record.get("withdrawn"):
            errors.append(f"{where}: record is not withdrawn")
        if not any(osv_hit(e, installed, semver_cmp)[0] for e in record["affected"]):
            errors.append(f"{where}: range does not contain {installed}: not a trap")
    elif kind == "no-fixed-version-range":
        if not any(osv_hit(e, installed, semver_cmp, naive_no_fix=True)[0] for e in record["affected"]):
            errors.append(f"{where}: 'no fix = all versions' would not hit: not a trap")
    elif kind == "other-release":
        tracker = json.load(open(os.path.join(ADVISORIES, "debian-tracker", "bookworm.json")))
        others = [rel["fixed_version"] for pkg in tracker.values() for cve, entry in pkg.items()
                  if cve == trap["id"] for codename, rel in entry["releases"].items()
                  if codename != "bookworm" and rel.get("fixed_version")]
        if not any(deb_cmp(installed, f) < 0 for f in others):
            errors.append(f"{where}: no other release's fix is newer than {installed}: not a trap")
    elif kind == "epoch":
        if trap["kind"] == "rpm":
            fixed = [next(iter(ev.values())) for e in record["affected"] if e["package"]["name"] == trap["package"]
                     for r in e["ranges"] for ev in r["events"] if "fixed" in ev]
            cmp = rpm_cmp
        else:
            tracker = json.load(open(os.path.join(ADVISORIES, "debian-tracker", "bookworm.json")))
            fixed = [entry["releases"]["bookworm"]["fixed_version"]
                     for pkg in tracker.values() for cve, entry in pkg.items() if cve == trap["id"]]
            cmp = deb_cmp
        bare = installed.split(":", 1)[1]
        if not fixed or not all(cmp(bare, f) < 0 for f in fixed):
            errors.append(f"{where}: dropping the epoch of {installed} would not hit: not a trap")


def main(argv):
    if not argv:
        sys.exit(__doc__)
    out = argv[0]
    json_out = argv[argv.index("--json") + 1] if "--json" in argv else None
    expected = yaml.safe_load(open(os.path.join(HERE, "expected.yaml"), encoding="utf-8"))
    by_id = records_by_id()
    errors = []
    for case in expected["cases"]:
        hits = compute(case, out)
        tps = case["true_positives"]
        for h in hits:
            match = [tp for tp in tps
                     if ({tp["id"], *tp.get("aliases", [])} & h["ids"]) and same_component(tp, h)]
            if not match:
                errors.append(f"{case['name']}: oracle hit {h['id']} on {h['kind']}/{h['package']} "
                              f"{h['installed']} (fixed {h['fixed']}) is not an expected true positive")
                continue
            tp = match[0]
            if (tp["installed"], tp["fixed"]) != (h["installed"], h["fixed"]):
                errors.append(f"{case['name']}: {tp['id']} on {tp['package']}: expected installed/fixed "
                              f"{tp['installed']}/{tp['fixed']}, oracle {h['installed']}/{h['fixed']}")
        for tp in tps:
            if not any(({tp["id"], *tp.get("aliases", [])} & h["ids"]) and same_component(tp, h) for h in hits):
                errors.append(f"{case['name']}: expected true positive {tp['id']} on {tp['package']} "
                              f"{tp['installed']}: the oracle does not find it")
        for trap in case["traps"]:
            ids = {trap["id"], *trap.get("aliases", [])}
            for h in hits:
                if ids & h["ids"] and same_component(trap, h):
                    errors.append(f"{case['name']}: trap {trap['id']} on {trap['package']}: the oracle hits it")
            check_trap(case, trap, out, by_id, errors)
    if errors:
        print("labeled-set oracle disagrees with expected.yaml:", *errors, sep="\n  ", file=sys.stderr)
        sys.exit(1)
    if json_out:
        with open(json_out, "w", encoding="utf-8") as f:
            json.dump(expected, f, indent=1, sort_keys=True, default=str)
    n = sum(len(c["true_positives"]) for c in expected["cases"])
    t = sum(len(c["traps"]) for c in expected["cases"])
    print(f"labeled-set oracle: {n} true positives and {t} traps agree with expected.yaml", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
