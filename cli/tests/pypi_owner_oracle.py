"""Oracle for folding Debian-packaged Python distributions into their debs.

Lists the distributions importlib.metadata finds in Debian's own
dist-packages directory and asks dpkg which package owns each one's metadata
directory. Prints JSON: [{"name", "version", "path", "owner"}], owner null
when dpkg does not know the path.
"""
import importlib.metadata
import json
import re
import subprocess
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "/usr/lib/python3/dist-packages"
dists = []
for dist in importlib.metadata.distributions(path=[root]):
    path = str(dist._path)  # the .dist-info / .egg-info directory or file
    name = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
    dists.append({"name": name, "version": dist.version, "path": path})

owners = {}
if dists:
    out = subprocess.run(
        ["dpkg-query", "-S", *[d["path"] for d in dists]],
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        packages, _, path = line.partition(": ")
        # "pkg1, pkg2: path" for shared paths; diversions start with "diversion by".
        if packages.startswith("diversion"):
            continue
        owners[path] = packages.split(", ")[0].split(":")[0]
for d in dists:
    d["owner"] = owners.get(d["path"])
print(json.dumps(sorted(dists, key=lambda d: d["path"])))
