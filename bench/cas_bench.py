#!/usr/bin/env python3
"""Runs the layer cache benchmark for bench/cas.sh and prints a Markdown table.

Variants, per image (OCI layout IMAGES_DIR/<image>/oci, tag <image>):
  stella --no-cache      the plain streaming scan
  stella cold            empty cache directory: streams every layer and writes the cache
  stella warm            right after "cold": every layer cached
  stella, CMD changed    every layer cached, but the config differs (a copy of the image with
                         another CMD): the whole-image entry misses, the analysis runs on the
                         cached layer fragments
  stella on cached base  cache holding only bookworm-minbase (layer 0 of multi): streams the rest
  trivy cold / warm      the same with trivy's own layer cache (--cache-dir), deleted or kept

Wall time is measured around the process with perf_counter (ms resolution
matters for the warm scan); CPU time and peak RSS come from wait4's rusage.
trivy's "scan only" is timed from its first log line to exit, as in run.sh:
the npm build of trivy spends seconds unpacking itself (UPX) before that.
"""

import argparse
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import time


def run(cmd, env=None):
    """(wall s, cpu s, peak RSS KiB, stderr text, end epoch)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    end = time.time()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({p.returncode}): {err.decode(errors='replace')[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, err.decode(errors="replace"), end


ANSI = re.compile(r"\x1b\[[0-9;]*m")
STAMP = re.compile(r"^([0-9T:.-]+)Z", re.M)


def trivy_scan_only(err, end):
    m = STAMP.search(ANSI.sub("", err))
    if not m:
        return None
    t = datetime.datetime.fromisoformat(m.group(1) + "+00:00").timestamp()
    return end - t


def du(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(d, f))
    return total


def recmd_layout(src, tag, dest):
    """An OCI layout at `dest` holding image `tag` of `src` with another CMD
    (new config and manifest; the layer blobs are symlinks to the originals):
    all its layers are cached once `src` was scanned, its inventory is not."""
    import hashlib
    import json

    shutil.rmtree(dest, ignore_errors=True)
    blobs = os.path.join(dest, "blobs", "sha256")
    os.makedirs(blobs)

    def read(digest):
        with open(os.path.join(src, "blobs", "sha256", digest.split(":", 1)[1]), "rb") as f:
            return f.read()

    def write(data):
        hexd = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, hexd), "wb") as f:
            f.write(data)
        return "sha256:" + hexd

    with open(os.path.join(src, "index.json")) as f:
        index = json.load(f)
    desc = next(m for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
    manifest = json.loads(read(desc["digest"]))
    config = json.loads(read(manifest["config"]["digest"]))
    config.setdefault("config", {})["Cmd"] = ["sh", "-c", "echo another command"]
    config_bytes = json.dumps(config).encode()
    manifest["config"] = dict(manifest["config"], digest=write(config_bytes), size=len(config_bytes))
    for layer in manifest["layers"]:
        hexd = layer["digest"].split(":", 1)[1]
        os.symlink(os.path.join(src, "blobs", "sha256", hexd), os.path.join(blobs, hexd))
    manifest_bytes = json.dumps(manifest).encode()
    index["manifests"] = [dict(desc, digest=write(manifest_bytes), size=len(manifest_bytes))]
    with open(os.path.join(dest, "index.json"), "w") as f:
        json.dump(index, f)
    shutil.copy(os.path.join(src, "oci-layout"), os.path.join(dest, "oci-layout"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stella", required=True)
    ap.add_argument("--trivy", required=True)
    ap.add_argument("--images-dir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--tsv", required=True)
    ap.add_argument("images", nargs="+")
    a = ap.parse_args()

    os.makedirs(a.work, exist_ok=True)
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    for k in ("STELLA_CACHE_DIR", "STELLA_NO_CACHE", "STELLA_CACHE_MAX_SIZE"):
        env.pop(k, None)
    cache = os.path.join(a.work, "stella-cache")
    trivy_cache = os.path.join(a.work, "trivy-cache")
    rows = []
    notes = []
    for img in a.images:
        layout = os.path.join(a.images_dir, img, "oci")
        src = f"oci-dir:{layout}:{img}"
        out = lambda v: os.path.join(a.work, f"{img}.{v}.cdx.json")
        stella = lambda v, *extra: [a.stella, "scan", src, "-q", "-o", f"cyclonedx-json={out(v)}", *extra]
        base_layout = os.path.join(a.images_dir, "bookworm-minbase", "oci")
        has_base = img == "multi" and os.path.isdir(base_layout)
        trivy = [a.trivy, "image", "--input", layout, "--format", "cyclonedx", "--output", out("trivy"),
                 "--skip-db-update", "--skip-java-db-update", "--offline-scan", "--skip-files", "**/*.jar",
                 "--cache-dir", trivy_cache]
        cache_bytes = cache_files = None
        for rnd in range(a.rounds + 1):  # round 0 warms the page cache, not counted
            def record(variant, res, scan_only=None):
                wall, cpu, rss, _, _ = res
                if rnd > 0:
                    with open("/proc/loadavg") as f:
                        load = float(f.read().split()[0])
                    rows.append((img, variant, rnd, wall, cpu, rss, scan_only, load))
                print(f"[bench-cas] {img} round {rnd}/{a.rounds} {variant}: {wall*1000:.0f} ms", file=sys.stderr)

            record("stella --no-cache", run(stella("nocache", "--no-cache"), env))
            shutil.rmtree(cache, ignore_errors=True)
            record("stella cold (writes the cache)", run(stella("cold", "--cache-dir", cache), env))
            cache_bytes = du(cache)
            cache_files = sum(len(f) for _, _, f in os.walk(os.path.join(cache, "layers-v1")))
            record("stella warm", run(stella("warm", "--cache-dir", cache), env))
            with open(out("cold"), "rb") as c, open(out("warm"), "rb") as w, open(out("nocache"), "rb") as n:
                cold_b, warm_b, none_b = c.read(), w.read(), n.read()
            if not (cold_b == warm_b == none_b):
                sys.exit(f"{img}: cold, warm and --no-cache SBOMs differ")
            # Every layer cached, but the image config changed: the whole-image
            # entry misses and the analysis runs on the cached fragments.
            run(stella("cold", "--cache-dir", cache), env)
            recmd = os.path.join(a.work, f"{img}-recmd")
            recmd_layout(layout, img, recmd)
            recmd_scan = [a.stella, "scan", f"oci-dir:{recmd}:{img}", "-q", "-o"]
            record("stella, all layers cached, CMD changed",
                   run(recmd_scan + [f"cyclonedx-json={out('recmd')}", "--cache-dir", cache], env))
            if rnd == 0:
                run(recmd_scan + [f"cyclonedx-json={out('recmd-nocache')}", "--no-cache"], env)
                with open(out("recmd"), "rb") as c, open(out("recmd-nocache"), "rb") as n:
                    if c.read() != n.read():
                        sys.exit(f"{img}: the changed-CMD image's SBOM differs from its --no-cache scan")
            if has_base:
                shutil.rmtree(cache, ignore_errors=True)
                run([a.stella, "scan", f"oci-dir:{base_layout}:bookworm-minbase", "-q", "-o",
                     f"json={os.path.join(a.work, 'base.json')}", "--cache-dir", cache], env)
                record("stella, only the base layer cached", run(stella("onbase", "--cache-dir", cache), env))
            shutil.rmtree(trivy_cache, ignore_errors=True)
            res = run(trivy, env)
            record("trivy cold", res, trivy_scan_only(res[3], res[4]))
            res = run(trivy, env)
            record("trivy warm", res, trivy_scan_only(res[3], res[4]))
        notes.append(f"{img}: cache directory after a cold scan: {cache_bytes / 1e6:.1f} MB in "
                     f"{cache_files} files; cold, warm and --no-cache CycloneDX outputs byte-identical "
                     "in every round (and the changed-CMD image's to its own --no-cache scan)")

    with open(a.tsv, "w") as f:
        f.write("image\tvariant\tround\twall_s\tcpu_s\trss_kib\ttrivy_scan_only_s\tloadavg1\n")
        for r in rows:
            f.write("\t".join("" if v is None else str(v) for v in r) + "\n")

    for img in a.images:
        mine = [r for r in rows if r[0] == img]
        variants = list(dict.fromkeys(r[1] for r in mine))
        med = {v: statistics.median(r[3] for r in mine if r[1] == v) for v in variants}
        loads = [r[7] for r in mine]
        print(f"\n### {img} ({a.rounds} rounds, medians; 1-minute load average "
              f"median {statistics.median(loads):.1f}, max {max(loads):.1f} on {os.cpu_count()} CPUs)\n")
        print("| variant | median wall ms | min–max wall ms | median CPU ms | peak RSS MiB | wall vs stella --no-cache | trivy scan-only ms |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for v in variants:
            rs = [r for r in mine if r[1] == v]
            walls = [r[3] for r in rs]
            so = [r[6] for r in rs if r[6] is not None]
            cells = [
                v,
                f"{med[v]*1000:.0f}",
                f"{min(walls)*1000:.0f}–{max(walls)*1000:.0f}",
                f"{statistics.median(r[4] for r in rs)*1000:.0f}",
                f"{max(r[5] for r in rs)/1024:.0f}",
                f"{med[v]/med['stella --no-cache']:.3f}×",
                f"{statistics.median(so)*1000:.0f}" if so else "",
            ]
            print("| " + " | ".join(cells) + " |")
        tw = [r[6] for r in mine if r[1] == "trivy warm" and r[6] is not None]
        sw = med["stella warm"]
        print(f"\n- stella warm / stella cold: {sw/med['stella cold (writes the cache)']:.3f}; "
              f"cold with cache / --no-cache: {med['stella cold (writes the cache)']/med['stella --no-cache']:.3f}")
        print(f"- trivy warm / stella warm (full wall): {med['trivy warm']/sw:.0f}×"
              + (f"; trivy warm scan-only / stella warm: {statistics.median(tw)/sw:.0f}×" if tw else ""))
    for n in notes:
        print(f"- {n}")


if __name__ == "__main__":
    main()
