#!/usr/bin/env python3
"""Oracle for Debian package licenses: python-debian's own DEP-5 parser.

Usage: dep5_oracle.py ROOTFS PACKAGE...
Prints JSON {package: [license synopsis, ...]} (sorted, unique) using
debian.copyright (the Debian project's parser of the machine-readable
copyright format). A file that is not machine-readable yields [].
"""
import json
import os
import sys

from debian.copyright import Copyright, NotMachineReadableError

root, packages = sys.argv[1], sys.argv[2:]
out = {}
for pkg in packages:
    path = os.path.join(root, "usr/share/doc", pkg, "copyright")
    licenses = set()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            doc = Copyright(f, strict=False)
    except FileNotFoundError:
        doc = None
    except NotMachineReadableError:
        doc = None
    if doc is not None:
        paragraphs = [doc.header, *doc.all_files_paragraphs(), *doc.all_license_paragraphs()]
        for p in paragraphs:
            lic = p.license
            if lic is not None and lic.synopsis.strip():
                licenses.add(" ".join(lic.synopsis.split()))
    out[pkg] = sorted(licenses)
json.dump(out, sys.stdout, indent=1, sort_keys=True)
