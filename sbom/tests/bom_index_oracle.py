#!/usr/bin/env python3
"""Independent oracle for bom-index@1 (docs/formats.md, DESIGN.md §3).

Written from the spec, not from the Rust code: its own byte parser, and
pyroaring (CRoaring) for the portable roaring bitmaps.

  bom_index_oracle.py check INVENTORY.json INDEX.bomidx GENERATED_AT_US
      Parses INDEX, derives what it must contain from the native inventory
      JSON (`stella scan -o json`) by the documented rules, and compares.
      Exit 0 when they agree, 1 with the differences otherwise.

  bom_index_oracle.py dump INDEX.bomidx
      Prints the parsed index as JSON (sets as sorted lists).

  bom_index_oracle.py write OUT.bomidx
      Writes a foreign index the way another producer might: CRoaring's
      run-optimized bitmaps (run containers, no offset header below four
      containers). Prints the content it wrote as JSON (as `dump` would).

Needs `pip install pyroaring`.
"""

import json
import struct
import sys

from pyroaring import BitMap

MAGIC = b"BOMIDX1"


class Malformed(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n, what):
        if self.pos + n > len(self.data):
            raise Malformed(f"truncated at {self.pos}: {what} needs {n} bytes")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u16(self, what):
        return struct.unpack("<H", self.take(2, what))[0]

    def u32(self, what):
        return struct.unpack("<I", self.take(4, what))[0]

    def i64(self, what):
        return struct.unpack("<q", self.take(8, what))[0]

    def string(self, what):
        return self.take(self.u16(what + " length"), what).decode("utf-8")

    def bitmap(self, what):
        raw = self.take(self.u32(what + " length"), what)
        size = portable_size(raw)
        if size != len(raw):
            raise Malformed(f"{what}: length prefix {len(raw)}, bitmap is {size} bytes")
        return BitMap.deserialize(raw)


def portable_size(raw):
    """Bytes one portable roaring bitmap occupies at the start of raw
    (RoaringFormatSpec: cookie, descriptive header, offsets, containers)."""
    def u16(at):
        return struct.unpack_from("<H", raw, at)[0]
    try:
        cookie = struct.unpack_from("<I", raw, 0)[0]
        if cookie == 12346:
            size = struct.unpack_from("<I", raw, 4)[0]
            runs, pos, offsets = b"", 8, True
        elif cookie & 0xFFFF == 12347:
            size = (cookie >> 16) + 1
            runs = raw[4:4 + (size + 7) // 8]
            pos, offsets = 4 + (size + 7) // 8, size >= 4
        else:
            raise Malformed("bitmap: unknown cookie")
        cards = [u16(pos + 4 * i + 2) + 1 for i in range(size)]
        pos += 4 * size + (4 * size if offsets else 0)
        for i, card in enumerate(cards):
            if runs and runs[i // 8] >> (i % 8) & 1:
                pos += 2 + 4 * u16(pos)
            elif card <= 4096:
                pos += 2 * card
            else:
                pos += 8192
        return pos
    except struct.error:
        raise Malformed("bitmap: truncated")


def parse(data):
    r = Reader(data)
    if r.take(7, "magic") != MAGIC:
        raise Malformed("bad magic")
    version = r.u16("version")
    if version != 1:
        raise Malformed(f"version {version}")
    flags = r.u16("flags")
    if flags & ~1:
        raise Malformed(f"unknown flags {flags:#x}")
    out = {"imageDigest": r.string("image digest"), "generatedAt": r.i64("generatedAt")}
    n_layers, n_comps, n_eps = r.u32("layerCount"), r.u32("componentCount"), r.u32("entrypointCount")
    if not flags & 1 and n_eps:
        raise Malformed("entrypoints without the flag")
    out["layers"] = [r.string(f"layer {i}") for i in range(n_layers)]
    ids = [r.string(f"component {i}") for i in range(n_comps)]
    encoded = [i.encode() for i in ids]
    if encoded != sorted(set(encoded)):
        raise Malformed("component identities are not sorted and unique")
    layer_bits = [r.bitmap(f"component {i} layers") for i in range(n_comps)]
    for i, bm in enumerate(layer_bits):
        if len(bm) and max(bm) >= n_layers:
            raise Malformed(f"component {i}: layer {max(bm)} >= {n_layers}")
    out["components"] = {ids[i]: {"layers": sorted(layer_bits[i])} for i in range(n_comps)}
    if flags & 1:
        eps = [r.string(f"entrypoint {i}") for i in range(n_eps)]
        if [e.encode() for e in eps] != sorted(set(e.encode() for e in eps)):
            raise Malformed("entrypoints are not sorted and unique")
        out["entrypoints"] = eps
        for i in range(n_comps):
            bm = r.bitmap(f"component {i} entrypoints")
            if len(bm) and max(bm) >= n_eps:
                raise Malformed(f"component {i}: entrypoint {max(bm)} >= {n_eps}")
            out["components"][ids[i]]["entrypoints"] = sorted(bm)
    if r.pos != len(data):
        raise Malformed(f"{len(data) - r.pos} trailing bytes")
    return out


def pct(s):
    """Percent-encoding as docs/formats.md states it for purls and keys:
    ASCII letters, digits and . - _ ~ + : kept, every other byte %XX."""
    keep = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~+:")
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in s.encode())


def identity(c):
    if c.get("purl"):
        return c["purl"]
    key = f"nopurl:{c['kind']}/{pct(c['name'])}"
    if c.get("version"):
        key += "@" + pct(c["version"])
    if c.get("arch"):
        key += "?arch=" + pct(c["arch"])
    return key


def expected(inv, generated_at):
    image = inv["image"]
    layers = [l.get("digest") or l.get("diffId") or "" for l in inv["layers"]]
    out = {
        "imageDigest": image.get("manifestDigest") or image.get("configDigest") or "",
        "generatedAt": generated_at,
        "layers": layers,
        "components": {},
    }
    trace = inv.get("entryTrace")
    if trace is not None:
        out["entrypoints"] = [json.dumps(trace["argv"], separators=(",", ":"), ensure_ascii=False)]
    for c in inv["components"]:
        entry = out["components"].setdefault(identity(c), {"layers": set(), "entrypoints": set()})
        if c.get("layer") is not None:
            entry["layers"].update(range(c["layer"], len(layers)))
        if trace is not None and c.get("properties", {}).get("stella:usage") == "true":
            entry["entrypoints"].add(0)
    for entry in out["components"].values():
        entry["layers"] = sorted(entry["layers"])
        if trace is None:
            del entry["entrypoints"]
        else:
            entry["entrypoints"] = sorted(entry["entrypoints"])
    return out


def diff(want, got):
    problems = []
    for key in ("imageDigest", "generatedAt", "layers", "entrypoints"):
        if want.get(key) != got.get(key):
            problems.append(f"{key}: want {want.get(key)!r}, got {got.get(key)!r}")
    w, g = want["components"], got["components"]
    for ident in sorted(set(w) | set(g)):
        if ident not in g:
            problems.append(f"missing component {ident}")
        elif ident not in w:
            problems.append(f"unexpected component {ident}")
        elif w[ident] != g[ident]:
            problems.append(f"{ident}: want {w[ident]}, got {g[ident]}")
    return problems


def write_foreign(path):
    """Another producer's index: run-optimized CRoaring bitmaps."""
    n_layers = 70000  # layer numbers past 65535 need a second container
    comps = {
        "pkg:deb/debian/base-files@12.4": BitMap(range(0, n_layers)),
        "pkg:npm/left-pad@1.3.0": BitMap([5, 6, 7, 8, 9, 65535, 65536, 69999]),
        "pkg:pypi/six@1.16.0": BitMap(),
    }
    for bm in comps.values():
        bm.run_optimize()
    eps = ['["/docker-entrypoint.sh","nginx"]', '["sh"]']
    ep_bits = {"pkg:deb/debian/base-files@12.4": BitMap([0, 1]), "pkg:npm/left-pad@1.3.0": BitMap([1]),
               "pkg:pypi/six@1.16.0": BitMap()}
    ids = sorted(comps, key=str.encode)
    layers = [f"sha256:{i:064x}" for i in range(n_layers)]
    out = bytearray(MAGIC)
    out += struct.pack("<HH", 1, 1)

    def s(v):
        b = v.encode()
        return struct.pack("<H", len(b)) + b

    def bm(v):
        b = v.serialize()
        return struct.pack("<I", len(b)) + b

    out += s("sha256:" + "ab" * 32) + struct.pack("<q", 1_700_000_000_123_456)
    out += struct.pack("<III", len(layers), len(ids), len(eps))
    for l in layers:
        out += s(l)
    for i in ids:
        out += s(i)
    for i in ids:
        out += bm(comps[i])
    for e in eps:
        out += s(e)
    for i in ids:
        out += bm(ep_bits[i])
    with open(path, "wb") as f:
        f.write(out)
    content = parse(bytes(out))
    content["layerCount"] = len(content.pop("layers"))
    return content


def main(argv):
    if len(argv) == 5 and argv[1] == "check":
        with open(argv[2], encoding="utf-8") as f:
            inv = json.load(f)
        with open(argv[3], "rb") as f:
            data = f.read()
        try:
            got = parse(data)
        except (Malformed, UnicodeDecodeError, ValueError) as e:
            print(f"{argv[3]}: not a valid bom-index@1: {e}")
            return 1
        problems = diff(expected(inv, int(argv[4])), got)
        for p in problems:
            print(f"{argv[3]}: {p}")
        if not problems:
            print(f"{argv[3]}: ok ({len(got['components'])} components, {len(got['layers'])} layers)")
        return 1 if problems else 0
    if len(argv) == 3 and argv[1] == "dump":
        with open(argv[2], "rb") as f:
            print(json.dumps(parse(f.read()), indent=1, sort_keys=True))
        return 0
    if len(argv) == 3 and argv[1] == "write":
        print(json.dumps(write_foreign(argv[2]), sort_keys=True))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
