#!/usr/bin/env python3
"""Helpers of build.sh: fetch pinned packages, install Debian packages into a
root filesystem the way dpkg records them, and list ground truth.

Subcommands:
  fetch LOCK CACHE            download every `deb` line of LOCK into CACHE/debs
                              (skipped when a cached file has the pinned sha256)
  deb-path LOCK CACHE NAME    print the cached .deb of package NAME
  install-deb ROOT DEB        unpack DEB into ROOT and register it in
                              ROOT/var/lib/dpkg (status stanza, info/*.list,
                              *.md5sums, conffiles), as `dpkg -i` would, without
                              running maintainer scripts (they would run on the
                              host) and without needing root
  extract-deb ROOT DEB        unpack DEB's files only (no dpkg registration)

Only the standard library and Debian's own dpkg-deb are used.
"""

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import urllib.request


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def read_lock(lock):
    debs = []
    with open(lock, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if fields[0] == "deb":
                _, name, version, url, sha = fields
                debs.append((name, version, url, sha))
    return debs


def cached_name(url):
    return url.rsplit("/", 1)[1]


def fetch(lock, cache):
    out = os.path.join(cache, "debs")
    os.makedirs(out, exist_ok=True)
    for name, version, url, sha in read_lock(lock):
        path = os.path.join(out, cached_name(url))
        if os.path.exists(path) and sha256_file(path) == sha:
            continue
        tmp = path + ".part"
        try:
            with urllib.request.urlopen(url, timeout=120) as r, open(tmp, "wb") as f:
                while True:
                    block = r.read(1 << 16)
                    if not block:
                        break
                    f.write(block)
        except OSError as e:
            sys.exit(f"labeled set: cannot download {name} {version} from {url}: {e}")
        got = sha256_file(tmp)
        if got != sha:
            os.unlink(tmp)
            sys.exit(f"labeled set: {url}: sha256 {got}, pinned {sha}")
        os.replace(tmp, path)


def deb_path(lock, cache, wanted):
    for name, _version, url, sha in read_lock(lock):
        if name == wanted:
            path = os.path.join(cache, "debs", cached_name(url))
            if not os.path.exists(path) or sha256_file(path) != sha:
                sys.exit(f"labeled set: {path} missing or not the pinned {sha}")
            return path
    sys.exit(f"labeled set: no deb {wanted!r} in {lock}")


def run(*args):
    return subprocess.run(args, check=True, capture_output=True).stdout


def control_stanza(deb):
    """The control file's fields, in order, as (name, value-with-continuations)."""
    text = run("dpkg-deb", "-f", deb).decode("utf-8")
    fields = []
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + "\n" + line)
        elif ":" in line:
            name, value = line.split(":", 1)
            fields.append((name, value.strip()))
    return fields


def member_text(deb, member):
    """A file of the control archive, or None when the package has none."""
    control = run("dpkg-deb", "--ctrl-tarfile", deb)
    with tarfile.open(fileobj=io.BytesIO(control)) as t:
        for m in t.getmembers():
            if m.name in (member, "./" + member):
                f = t.extractfile(m)
                return f.read().decode("utf-8") if f else None
    return None


def file_list(deb):
    """The package's paths as dpkg's .list writes them: `/.` first, then
    every entry in archive order, without trailing slashes."""
    data = run("dpkg-deb", "--fsys-tarfile", deb)
    paths = []
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for m in t.getmembers():
            name = m.name
            if name.startswith("./"):
                name = name[1:]
            elif not name.startswith("/"):
                name = "/" + name
            name = name.rstrip("/") or "/."
            if name == "/":
                name = "/."
            paths.append(name)
    return paths


def install_deb(root, deb):
    fields = control_stanza(deb)
    control = dict(fields)
    package = control["Package"]
    multi_arch_same = control.get("Multi-Arch") == "same"
    info_name = f"{package}:{control['Architecture']}" if multi_arch_same else package
    admin = os.path.join(root, "var", "lib", "dpkg")
    info = os.path.join(admin, "info")
    os.makedirs(info, exist_ok=True)
    os.makedirs(os.path.join(admin, "updates"), exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True)

    with open(os.path.join(info, info_name + ".list"), "w", encoding="utf-8") as f:
        f.write("".join(p + "\n" for p in file_list(deb)))
    md5sums = member_text(deb, "md5sums")
    if md5sums is not None:
        with open(os.path.join(info, info_name + ".md5sums"), "w", encoding="utf-8") as f:
            f.write(md5sums)
    conffiles = [c for c in (member_text(deb, "conffiles") or "").splitlines() if c.strip()]
    if conffiles:
        with open(os.path.join(info, info_name + ".conffiles"), "w", encoding="utf-8") as f:
            f.write("".join(c + "\n" for c in conffiles))

    # dpkg's status stanza: Package, Status, then the control fields, with
    # Conffiles (path and md5 of the shipped file) before Description.
    lines = [f"Package: {package}", "Status: install ok installed"]
    for name, value in fields:
        if name == "Package":
            continue
        if name == "Description" and conffiles:
            lines.append("Conffiles:")
            for c in conffiles:
                digest = hashlib.md5(open(os.path.join(root, c.lstrip("/")), "rb").read()).hexdigest()
                lines.append(f" {c} {digest}")
        lines.append(f"{name}: {value}")
    with open(os.path.join(admin, "status"), "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n\n")


def main(argv):
    if len(argv) >= 1 and argv[0] == "fetch" and len(argv) == 3:
        fetch(argv[1], argv[2])
    elif len(argv) == 4 and argv[0] == "deb-path":
        print(deb_path(argv[1], argv[2], argv[3]))
    elif len(argv) == 3 and argv[0] == "install-deb":
        install_deb(argv[1], argv[2])
    elif len(argv) == 3 and argv[0] == "extract-deb":
        subprocess.run(["dpkg-deb", "-x", argv[2], argv[1]], check=True)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
