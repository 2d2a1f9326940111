#!/usr/bin/env python3
"""Synthetic stella-inventory@1 for the matcher benchmark (bench/match.sh).

Draws N components (default 10,000) from the package names of an advisory
corpus, so the matcher does real work: about half get a version the
advisory calls affected (a listed version, an `introduced` version, or one
just below a `fixed` version), the rest the fixed version itself (a near
miss the comparators must reject). Plus a tail of names no advisory has.

    bench/match_inventory.py [--corpus DIR] [-n 10000] [--seed 1]
                             [--profile worst|current] -o FILE

Profiles: `worst` (default) as above — about half the components affected,
an old rpm at a version below its first fix meets every later advisory of
its package (≈16 findings per component); `current`, an image that is
kept up to date: each component at the newest fixed version the corpus
names for it (by a natural sort, close enough for a benchmark input) but
for a 5 % share of stragglers picked as in `worst`.

Deterministic: the same corpus, N and seed give the same bytes. Layout:
AlmaLinux 9 (the corpus' OS data) rpm packages, PyPI distributions,
crates (one cargo-auditable binary), Go modules and the Go stdlib, spread
over 5 layers, with the evidence paths real analyzers record.

Notes for the matcher bench: Go module versions carry the `v` prefix
(build info does), the stdlib version does not (`1.25.5`); rpm versions
are `VERSION-RELEASE` (no epoch) with the source package = the name.
"""

import argparse
import glob
import hashlib
import json
import os
import random
import re
import sys

OSV_DIRS = {
    "osv-pypi-yaml": "pypi",
    "osv-crates": "cargo",
    "osv-go": "golang",
    "osv-almalinux9": "rpm",
}
SHARE = {"rpm": 0.35, "pypi": 0.25, "golang": 0.2, "cargo": 0.15, "unknown": 0.05}


def digest(seed):
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def below(version):
    """A version just below `version`: its last number minus one."""
    m = list(re.finditer(r"\d+", version))
    for num in reversed(m):
        if int(num.group()) > 0:
            return version[: num.start()] + str(int(num.group()) - 1) + version[num.end():]
    return None


def yaml_fields(text):
    """The few OSV fields we need from a PyPA YAML record, without a YAML
    library: package name, `versions` items and range events."""
    name = re.search(r"^\s+name:\s*(\S+)", text, re.M)
    versions = re.findall(r"^\s+-\s+\"?([0-9][^\"\s]*)\"?\s*$", text, re.M)
    intro = re.findall(r"introduced:\s*\"?([^\"\s]+)\"?", text)
    fixed = re.findall(r"fixed:\s*\"?([^\"\s]+)\"?", text)
    return name.group(1) if name else None, versions, intro, fixed


def records(corpus):
    """(kind, name, affected versions, fixed versions) per affected package."""
    for sub, kind in sorted(OSV_DIRS.items()):
        for path in sorted(glob.glob(os.path.join(corpus, sub, "**", "*"), recursive=True)):
            if os.path.isdir(path):
                continue
            try:
                text = open(path, encoding="utf-8").read()
            except (OSError, UnicodeDecodeError):
                continue
            if path.endswith(".json"):
                try:
                    doc = json.loads(text)
                except ValueError:
                    continue
                for a in doc.get("affected", []):
                    name = a.get("package", {}).get("name")
                    if not name:
                        continue
                    intro, fixed = [], []
                    for r in a.get("ranges", []):
                        if r.get("type") == "GIT":
                            continue
                        for e in r.get("events", []):
                            intro += [e["introduced"]] if "introduced" in e else []
                            fixed += [e["fixed"]] if "fixed" in e else []
                    yield kind, name, a.get("versions", []), intro, fixed
            elif path.endswith((".yaml", ".yml")):
                name, versions, intro, fixed = yaml_fields(text)
                if name:
                    # Commit hashes of GIT ranges are not versions.
                    fixed = [f for f in fixed if not re.fullmatch(r"[0-9a-f]{40}", f)]
                    yield kind, name, versions, intro, fixed


def pick_version(rng, kind, versions, intro, fixed):
    affected = list(versions) + [i for i in intro if i not in ("0", "0.0.0-0")]
    affected += [b for b in (below(f) for f in fixed) if b]
    if fixed and (not affected or rng.random() < 0.5):
        return rng.choice(fixed)
    if affected:
        return rng.choice(affected)
    return None


def natural_key(version):
    """Digits as numbers, the rest as text: orders most versions the way
    their schemes do (the `current` profile only needs "about newest")."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.findall(r"\d+|[^\d.~+-]+", version)]


def component(kind, name, version, layer):
    c = {"kind": kind, "name": name, "version": version, "layer": layer,
         "layerDiffId": digest(f"match-bench-layer{layer}"), "evidence": []}
    q = lambda s: re.sub(r"[^A-Za-z0-9._~-]", lambda m: "%%%02X" % ord(m.group()), s)  # noqa: E731
    if kind == "rpm":
        c["arch"] = "x86_64"
        c["source"] = {"name": name, "version": version}
        c["purl"] = f"pkg:rpm/almalinux/{q(name)}@{q(version)}?arch=x86_64&distro=almalinux-9"
        c["evidence"] = ["var/lib/rpm/rpmdb.sqlite"]
    elif kind == "pypi":
        norm = re.sub(r"[-_.]+", "-", name).lower()
        c["purl"] = f"pkg:pypi/{q(norm)}@{q(version)}"
        c["evidence"] = [f"usr/lib/python3.9/site-packages/{name.replace('-', '_')}-{version}.dist-info/METADATA"]
    elif kind == "cargo":
        c["purl"] = f"pkg:cargo/{q(name)}@{q(version)}"
        c["evidence"] = ["usr/local/bin/rust-service"]
    elif kind == "golang":
        if name == "stdlib":
            c["purl"] = f"pkg:golang/stdlib@{q(version)}"
        else:
            version = "v" + version
            c["version"] = version
            ns, _, base = name.rpartition("/")
            path = "/".join(q(p) for p in ns.split("/")) + "/" if ns else ""
            c["purl"] = f"pkg:golang/{path}{q(base)}@{q(version)}"
        c["evidence"] = ["usr/local/bin/go-service"]
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="/work/shared/data/advisories")
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", choices=["worst", "current"], default="worst")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    by_kind = {}
    newest_fix = {}
    for kind, name, versions, intro, fixed in records(args.corpus):
        by_kind.setdefault(kind, []).append((name, versions, intro, fixed))
        for f in fixed:
            best = newest_fix.get((kind, name))
            if best is None or natural_key(f) > natural_key(best):
                newest_fix[(kind, name)] = f
    if not by_kind:
        sys.exit(f"no OSV records under {args.corpus}")

    seen, comps = set(), []
    for kind, share in SHARE.items():
        want = int(args.n * share) if kind != "unknown" else args.n - len(comps)
        pool = by_kind.get(kind, [])
        tries, max_tries = 0, want * 20
        while want > 0 and tries < max_tries:
            tries += 1
            if kind == "unknown":
                k = rng.choice(["pypi", "cargo"])
                name, version = f"no-advisory-{rng.randrange(10**9)}", "1.0.0"
            elif not pool:
                break
            else:
                k = kind
                name, versions, intro, fixed = rng.choice(pool)
                version = pick_version(rng, kind, versions, intro, fixed)
                if args.profile == "current" and rng.random() >= 0.05:
                    version = newest_fix.get((kind, name))
                if not version:
                    continue
            # An up-to-date image holds each package once.
            key = (k, name) if args.profile == "current" else (k, name, version)
            if key in seen:
                continue
            seen.add(key)
            comps.append(component(k, name, version, rng.randrange(5)))
            want -= 1
    comps.sort(key=lambda c: (c["kind"], c["name"], c["version"], c.get("arch") or "", c["evidence"]))

    inv = {
        "schema": "stella-inventory@1",
        "tool": {"name": "stella", "version": "bench"},
        "image": {"source": f"synthetic:match-bench-{args.profile}-{args.n}-{args.seed}"},
        "distro": {"id": "almalinux", "versionId": "9.4", "prettyName": "AlmaLinux 9.4 (Seafoam Ocelot)",
                   "idLike": ["rhel", "centos", "fedora"], "evidence": "etc/os-release"},
        "layers": [{"index": i, "diffId": digest(f"match-bench-layer{i}"), "size": 0} for i in range(5)],
        "components": comps,
    }
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(inv, f, indent=2, sort_keys=False)
        f.write("\n")
    counts = {}
    for c in comps:
        counts[c["kind"]] = counts.get(c["kind"], 0) + 1
    print(f"{len(comps)} components {dict(sorted(counts.items()))} -> {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
