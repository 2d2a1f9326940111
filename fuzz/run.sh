#!/usr/bin/env bash
# Runs every Stella fuzz target for SECONDS each (default 60).
#
#   fuzz/run.sh [SECONDS]
#
# Installs cargo-fuzz when it is missing. Works on the stable toolchain:
# RUSTC_BOOTSTRAP=1 lets stable rustc take the -Z flags cargo-fuzz passes.
# Seed corpora are generated here from the repository's real fixtures
# (analyzers/tests/fixtures/**) and a few well-formed documents, into
# fuzz/corpus/TARGET (git-ignored, like fuzz/artifacts).
#
# Environment:
#   FUZZ_SANITIZER   none (default: the code under test is safe Rust, and
#                    none runs ~2x faster) or address
#   FUZZ_TARGETS     space-separated subset of targets (default: all)
#   CARGO_BUILD_JOBS parallel rustc jobs (default 2)
#
# Exits non-zero when any target found a crash; the reproducers are in
# fuzz/artifacts/TARGET/ (replay one: cargo fuzz run TARGET FILE).
set -euo pipefail

SECONDS_EACH=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
fixtures="$repo/analyzers/tests/fixtures"
sanitizer=${FUZZ_SANITIZER:-none}
export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

cd "$here"
corpus="$here/corpus"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Splits a blank-line-separated database (dpkg status, apk installed) into
# seeds of a few stanzas each, plus the whole file when it is small.
split_stanzas() { # FILE DEST_DIR PREFIX
    local file=$1 dest=$2 prefix=$3
    [ -f "$file" ] || return 0
    awk -v dir="$dest" -v prefix="$prefix" '
        BEGIN { RS = ""; n = 0 }
        { chunk = chunk $0 "\n\n"; if (++k == 3) { f = sprintf("%s/%s-%03d", dir, prefix, n++); printf "%s", chunk > f; close(f); chunk = ""; k = 0 } }
        END { if (chunk != "") { f = sprintf("%s/%s-%03d", dir, prefix, n++); printf "%s", chunk > f; close(f) } }
    ' "$file"
    if [ "$(wc -c < "$file")" -le 65536 ]; then cp "$file" "$dest/$prefix-whole"; fi
}

seed_dpkg() {
    local d="$corpus/dpkg_status"
    mkdir -p "$d"
    # The repository has no dpkg fixture file; the unit-test sample shape plus,
    # when present, this machine's own status database.
    printf 'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\nDescription: GNU C Library\n Contains the standard libraries.\n\nPackage: oldpkg\nStatus: deinstall ok config-files\nVersion: 1.0\n' > "$d/seed-sample"
    printf 'Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\nSource: base-files (12.4)\n' > "$d/seed-distroless"
    if [ -f /var/lib/dpkg/status ]; then
        head -c 200000 /var/lib/dpkg/status > "$scratch/status"
        split_stanzas "$scratch/status" "$d" seed-host
    fi
}

seed_apk() {
    local d="$corpus/apk_db"
    mkdir -p "$d"
    local i=0
    while IFS= read -r -d '' f; do
        split_stanzas "$f" "$d" "seed-$i"
        i=$((i + 1))
    done < <(find "$fixtures/apk" -name installed -type f -print0)
}

seed_rpm() {
    local d="$corpus/rpm_header"
    mkdir -p "$d"
    python3 - "$fixtures/rpm/sqlite/rpmdb.sqlite" "$d" <<'PY'
import sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro&immutable=1", uri=True)
for i, (blob,) in enumerate(con.execute("SELECT blob FROM Packages")):
    with open(f"{sys.argv[2]}/seed-sqlite-{i:03d}", "wb") as out:
        out.write(blob)
PY
}

seed_layer() {
    local d="$corpus/layer_tar" root="$scratch/rootfs"
    mkdir -p "$d" "$root"
    # A root filesystem from the fixtures, with what layers carry: links,
    # whiteouts, an opaque dir, a sparse file.
    mkdir -p "$root/etc" "$root/lib/apk/db" "$root/var/lib/rpm" "$root/usr/lib/gone" "$root/var/lib/dpkg"
    cp "$fixtures/apk/alpine-3.13-armv7/lib/apk/db/installed" "$root/lib/apk/db/installed"
    printf 'ID=alpine\nVERSION_ID=3.13.0\nPRETTY_NAME="Alpine Linux v3.13"\n' > "$root/usr/lib/os-release"
    ln -s ../usr/lib/os-release "$root/etc/os-release"
    ln "$root/lib/apk/db/installed" "$root/lib/apk/db/installed.hard"
    cp "$fixtures/rpm/ndb/Packages.db" "$root/var/lib/rpm/Packages.db"
    : > "$root/usr/lib/.wh.removed"
    : > "$root/usr/lib/gone/.wh..wh..opq"
    ln -s dpkg "$root/var/lib/dpkg/loop"
    truncate -s 1M "$root/var/lib/dpkg/status"
    printf 'Package: x\nVersion: 1\n' >> "$root/var/lib/dpkg/status"
    ( cd "$root" && tar --format=gnu -S -cf "$d/seed-gnu.tar" . )
    ( cd "$root" && tar --format=pax -cf "$scratch/pax.tar" etc usr lib var/lib/dpkg/loop )
    cp "$scratch/pax.tar" "$d/seed-pax.tar"
    gzip -9 -c "$scratch/pax.tar" > "$d/seed-pax.tar.gz"
    if command -v zstd >/dev/null; then zstd -q -19 -c "$scratch/pax.tar" > "$d/seed-pax.tar.zst"; fi
    ( cd "$root" && tar --format=ustar -cf "$d/seed-small.tar" etc usr/lib/os-release )
}

seed_manifest() {
    local d="$corpus/manifest"
    mkdir -p "$d"
    local h=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    cat > "$d/seed-manifest" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$h","size":1234},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$h","size":5678}],"annotations":{"org.opencontainers.image.ref.name":"latest"}}
JSON
    cat > "$d/seed-index" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$h","size":500,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$h","size":500,"platform":{"os":"unknown","architecture":"unknown"}}]}
JSON
    cat > "$d/seed-docker-list" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"$h","size":528,"platform":{"architecture":"amd64","os":"linux"}}]}
JSON
    cat > "$d/seed-config" <<JSON
{"created":"2024-01-02T03:04:05Z","architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/","User":"0"},"rootfs":{"type":"layers","diff_ids":["$h","sha512:$(printf '%0128d' 0)"]},"history":[{"created_by":"ADD rootfs.tar /"},{"created_by":"ENV X=1","empty_layer":true}]}
JSON
    printf '{"schemaVersion":1,"name":"x"}' > "$d/seed-schema1"
}

seed_jar() {
    local d="$corpus/jar"
    mkdir -p "$d"
    # Small jars of the shapes the analyzer reads: pom.properties, a manifest
    # only, a shaded jar, nested jars (stored and deflated), a jar in a jar in
    # a war; plus the host's own small jars when it has any.
    python3 - "$d" <<'PY'
import io, sys, zipfile
out = sys.argv[1]
def jar(entries, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            z.writestr(name, data)
    return buf.getvalue()
def pom(g, a, v):
    return f"#Generated by Maven\ngroupId={g}\nartifactId={a}\nversion={v}\n"
manifest = "Manifest-Version: 1.0\r\nImplementation-Title: demo\r\nImplementation-Version: 1.2.3\r\nBundle-SymbolicName: org.example.demo;singleton:=tr\r\n ue\r\n\r\n"
lib = jar([("META-INF/MANIFEST.MF", manifest), ("META-INF/maven/org.example/lib/pom.properties", pom("org.example", "lib", "1.0")), ("org/example/A.class", b"\xca\xfe\xba\xbe")])
seeds = {
    "pom": lib,
    "manifest-only": jar([("META-INF/MANIFEST.MF", manifest)]),
    "shaded": jar([("META-INF/maven/a/b/pom.properties", pom("a", "b", "1")), ("META-INF/maven/c/d/pom.properties", "groupId=c\nartifactId=d\n")]),
    "fat-stored": jar([("META-INF/MANIFEST.MF", manifest), ("BOOT-INF/lib/lib-1.0.jar", lib), ("BOOT-INF/lib/x.jar", b"")], zipfile.ZIP_STORED),
    "war": jar([("WEB-INF/lib/mid.jar", jar([("lib/lib.jar", lib)]))]),
}
for name, data in seeds.items():
    with open(f"{out}/seed-{name}", "wb") as f:
        f.write(data)
PY
    local i=0
    while IFS= read -r -d '' f; do
        cp "$f" "$d/seed-host-$i"
        i=$((i + 1))
    done < <(find /usr/share/java -maxdepth 1 -type f -name '*.jar' -size -64k -print0 2>/dev/null | head -z -n 8)
}

# Go build info and cargo-auditable payloads, first byte = the target's mode
# (see fuzz_targets/buildinfo.rs): inline and pointer layouts, module info
# text, a cargo-auditable dependency list, and the committed Rust binary.
seed_buildinfo() {
    local d="$corpus/buildinfo"
    mkdir -p "$d"
    printf '\0' | cat - "$fixtures/rust-auditable/bin/stella-auditable-fixture" > "$d/seed-rust-binary"
    python3 - "$d" <<'PY'
import json, struct, sys
d = sys.argv[1]
modinfo = ("path\texample.com/hello\nmod\texample.com/hello\t(devel)\t\n"
           "dep\tgithub.com/google/uuid\tv1.3.0\th1:2Ajak/s9ond9xWZtWglNUouVyMHz28G7Z8R0e18RxNs=\n"
           "dep\tgithub.com/pkg/errors\tv0.9.0\n=>\tgithub.com/pkg/errors\tv0.9.1\th1:hOISDHPp68K3pi7Oct0vzL6O/Hg3IgQB5M6vmTEDsIk=\n"
           "dep\texample.com/localdep\tv0.0.0\n=>\t./localdep\t(devel)\t\n"
           "build\t-ldflags=\"-X main.version=1.4.2\"\nbuild\tGOOS=linux\n"
           "build\tvcs.revision=59290e2dd153b3ca7880e3f838a55d4198b98e3f\nbuild\tvcs.time=2023-05-06T07:08:09Z\n").encode()
framed = b"\x30" * 16 + modinfo + b"\xf9" * 16
def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([n & 0x7f | 0x80]); n >>= 7
    return out + bytes([n])
version = b"go1.19.8"
inline = bytes([8, 2]) + bytes(16) + uvarint(len(version)) + version + uvarint(len(framed)) + framed
for mode in (1, 2):
    open(f"{d}/seed-inline-{mode}", "wb").write(bytes([mode]) + inline)
# Pointer layout: the payload sits right after the magic at 0x400080 + 14.
base = 0x400080
hdr_v, hdr_m, data_v = base + 32, base + 48, base + 64
data_m = data_v + 16
pointer = (bytes([8, 0]) + struct.pack("<QQ", hdr_v, hdr_m) + struct.pack("<QQ", data_v, 9)
           + struct.pack("<QQ", data_m, len(framed)) + b"go1.15.15".ljust(16, b"\0") + framed)
for mode in (1, 2):
    open(f"{d}/seed-pointer-{mode}", "wb").write(bytes([mode]) + pointer)
deps = {"packages": [
    {"name": "autocfg", "version": "1.5.0", "source": "crates.io", "kind": "build"},
    {"name": "itoa", "version": "1.0.19", "source": "crates.io"},
    {"name": "app", "version": "0.1.0", "source": "local", "dependencies": [0, 1], "root": True},
    {"name": "fork", "version": "0.2.0", "source": "git"}], "format": 1}
open(f"{d}/seed-deps-json", "wb").write(b"\x04" + json.dumps(deps).encode())
open(f"{d}/seed-modinfo", "wb").write(b"\x05" + modinfo)
PY
}

seed_elf() {
    local d="$corpus/elf"
    mkdir -p "$d"
    # Small real ELF files of this machine: executables, shared libraries, the
    # static ldconfig (when under the size limit), relocatable objects.
    local f n=0
    for f in /usr/bin/* /usr/lib/x86_64-linux-gnu/*.so* /sbin/ldconfig /usr/lib/x86_64-linux-gnu/*.o; do
        [ -f "$f" ] && [ ! -L "$f" ] || continue
        [ "$(head -c 4 "$f" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ] || continue
        [ "$(wc -c < "$f")" -le 65536 ] || continue
        cp "$f" "$d/seed-$(basename "$f")"
        n=$((n + 1))
        [ "$n" -lt 40 ] || break
    done
}

seed_entry_script() {
    local d="$corpus/entry_script"
    mkdir -p "$d"
    # Entrypoint scripts in the style of the official images, and this
    # machine's own small shell scripts.
    printf 'set -e\nif [ "${1#-}" != "$1" ]; then\n\tset -- python3 "$@"\nfi\nexec "$@"\n' > "$d/seed-docker-entrypoint"
    printf 'cd /app && exec gosu app "${APP_BIN:-/usr/bin/python3}" -m http.server >/dev/null 2>&1\n' > "$d/seed-cmdline"
    local f n=0
    for f in /usr/bin/* /usr/sbin/*; do
        [ -f "$f" ] && [ ! -L "$f" ] || continue
        [ "$(head -c 9 "$f" 2>/dev/null)" = '#!/bin/sh' ] || continue
        [ "$(wc -c < "$f")" -le 16384 ] || continue
        tail -c +11 "$f" > "$d/seed-$(basename "$f")"
        n=$((n + 1))
        [ "$n" -lt 20 ] || break
    done
}

# bom-index@1 files assembled from the spec (docs/formats.md): with and
# without entrypoints, run-less and run-container bitmaps, a bitset
# container, an empty index; plus purl query strings.
seed_bom_index() {
    local d="$corpus/bom_index"
    mkdir -p "$d"
    python3 - "$d" <<'PY'
import struct, sys
d = sys.argv[1]
def s(v):
    b = v.encode()
    return struct.pack("<H", len(b)) + b
def array_bitmap(values):
    if not values:
        body = struct.pack("<II", 12346, 0)
    else:
        body = struct.pack("<IIHHI", 12346, 1, 0, len(values) - 1, 16) + b"".join(struct.pack("<H", v) for v in values)
    return struct.pack("<I", len(body)) + body
def run_bitmap(start, length):
    body = struct.pack("<IBHHHHH", 12347, 1, 0, length - 1, 1, start, length - 1)
    return struct.pack("<I", len(body)) + body
def bitset_bitmap(n):
    words = bytearray(8192)
    for v in range(n):
        words[v // 8] |= 1 << (v % 8)
    body = struct.pack("<IIHHI", 12346, 1, 0, n - 1, 16) + bytes(words)
    return struct.pack("<I", len(body)) + body
def index(flags, layers, comps, eps=()):
    out = b"BOMIDX1" + struct.pack("<HH", 1, flags) + s("sha256:" + "ab" * 32) + struct.pack("<q", 1700000000000000)
    out += struct.pack("<III", len(layers), len(comps), len(eps))
    out += b"".join(s(l) for l in layers)
    out += b"".join(s(c[0]) for c in comps)
    out += b"".join(c[1] for c in comps)
    if flags & 1:
        out += b"".join(s(e) for e in eps)
        out += b"".join(c[2] for c in comps)
    return out
layers = ["sha256:%064x" % i for i in range(3)]
comps = [("pkg:deb/debian/libc6@2.36-9?arch=amd64", array_bitmap([0, 1, 2]), array_bitmap([0])),
         ("pkg:npm/%40angular/core@16.2.0", run_bitmap(1, 2), array_bitmap([])),
         ("pkg:pypi/requests@2.31.0", array_bitmap([2]), array_bitmap([0]))]
seeds = {
    "entrypoints": index(1, layers, comps, ['["/app"]']),
    "plain": index(0, layers, [(c[0], c[1]) for c in comps]),
    "empty": index(0, [], []),
    "bitset": index(0, ["l%d" % i for i in range(5000)], [("pkg:npm/many@1", bitset_bitmap(5000))]),
}
for name, data in seeds.items():
    open(f"{d}/seed-{name}", "wb").write(data)
for i, q in enumerate(["pkg:npm/@angular/core", "pkg:deb/debian/libc6@2.36-9?arch=amd64", "pkg:pypi/Flask_Cors", "pkg:npm/lodash@4.17.21"]):
    open(f"{d}/seed-query-{i}", "w").write(q)
PY
}

# policy_docs: the repository's policy and VEX fixtures (valid and invalid).
seed_policy_docs() {
    local d="$corpus/policy_docs"
    mkdir -p "$d"
    local i=0
    for f in "$repo"/policy/tests/fixtures/rules/*/*.yaml "$repo"/policy/tests/fixtures/vex/*.json; do
        [ -f "$f" ] || continue
        cp "$f" "$d/seed-$i"
        i=$((i + 1))
    done
}

# attest_docs: the repository's envelopes, bundles and log-entry fixtures.
seed_attest_docs() {
    local d="$corpus/attest_docs"
    mkdir -p "$d"
    local i=0
    for f in "$repo"/attest/tests/fixtures/signing/*.json "$repo"/attest/tests/fixtures/transparency/*.json; do
        [ -f "$f" ] || continue
        cp "$f" "$d/seed-$i"
        i=$((i + 1))
    done
}

seed_dpkg
seed_policy_docs
seed_attest_docs
seed_bom_index
seed_elf
seed_entry_script
seed_apk
seed_rpm
seed_layer
seed_manifest
seed_jar
seed_buildinfo
mkdir -p "$corpus/squash"

echo "== building fuzz targets (sanitizer: $sanitizer)"
cargo fuzz build -s "$sanitizer" -a

targets=${FUZZ_TARGETS:-$(cargo fuzz list)}
failed=()
for t in $targets; do
    echo "== $t: ${SECONDS_EACH}s"
    mkdir -p "$corpus/$t"
    max_len=65536
    [ "$t" = layer_tar ] && max_len=262144
    if ! cargo fuzz run -s "$sanitizer" -a "$t" "$corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -max_len="$max_len" -print_final_stats=1 2>&1 | tee "$scratch/$t.log" | grep -E '^(#[0-9]+ +DONE|==[0-9]+==|SUMMARY|stat::number_of_executed_units|stat::peak_rss_mb|Done|thread .* panicked|INFO: Running)' ; then
        :
    fi
    if grep -qE 'panicked|ERROR: libFuzzer|SUMMARY: libFuzzer|deadly signal|Test unit written' "$scratch/$t.log"; then
        failed+=("$t")
        grep -E 'panicked|ERROR: libFuzzer|Test unit written' "$scratch/$t.log" | head -5
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "== crashes in: ${failed[*]} (reproducers in $here/artifacts/)"
    exit 1
fi
echo "== no crashes"
