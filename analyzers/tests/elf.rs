//! The ELF reader against binutils `readelf` (the oracle), field by field:
//! class, machine, `PT_INTERP`, `DT_NEEDED` (in order), `DT_SONAME`,
//! `DT_RPATH`, `DT_RUNPATH` and the GNU build-id.
//!
//! Inputs: a few dozen real ELF files of this machine (`/usr/bin`,
//! `/usr/lib/x86_64-linux-gnu`, the static `ldconfig`, this test binary), and
//! files written here for what a Debian amd64 host does not carry: big-endian
//! and 32-bit objects, `DT_RPATH` next to `DT_RUNPATH`, and a file whose
//! dynamic table is only reachable through its section headers (not
//! loadable: neither ld.so nor readelf reads it, and neither may we). readelf reads
//! every class and byte order whatever its build target, so it judges those
//! too. Then: truncated and corrupted copies never panic and never yield
//! facts readelf would not.

use std::path::{Path, PathBuf};
use std::process::Command;

use stella_analyzers::binary::elf_facts::parse_elf;
use stella_analyzers::ElfInfo;

/// What readelf says about one file, in our terms.
fn readelf(path: &Path) -> ElfInfo {
    let out = Command::new("readelf")
        .args(["-h", "-l", "-d", "-n", "--wide"])
        .arg(path)
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| {
            panic!("readelf is required for the ELF oracle test (apt-get install binutils): {e}")
        });
    assert!(
        out.status.success(),
        "readelf {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut info = ElfInfo::default();
    let bracketed = |line: &str, marker: &str| -> Option<String> {
        let rest = &line[line.find(marker)? + marker.len()..];
        Some(rest[..rest.rfind(']')?].to_string())
    };
    for line in text.lines() {
        let t = line.trim();
        if let Some(class) = t.strip_prefix("Class:") {
            info.is_64 = class.trim() == "ELF64";
        } else if let Some(machine) = t.strip_prefix("Machine:") {
            info.machine = match machine.trim() {
                "Advanced Micro Devices X86-64" => "x86_64",
                "Intel 80386" => "i386",
                "AArch64" => "aarch64",
                "IBM S/390" => "s390",
                "PowerPC" => "ppc",
                "PowerPC64" => "ppc64",
                "ARM" => "arm",
                "RISC-V" => "riscv",
                other => panic!("add readelf machine name {other:?} to the test's table"),
            }
            .to_string();
        } else if let Some(interp) = bracketed(t, "[Requesting program interpreter: ") {
            info.interpreter = Some(interp);
        } else if t.contains("(NEEDED)") {
            info.needed
                .push(bracketed(t, "Shared library: [").expect("NEEDED value"));
        } else if t.contains("(SONAME)") {
            info.soname = bracketed(t, "Library soname: [");
        } else if t.contains("(RPATH)") {
            let v = bracketed(t, "Library rpath: [").expect("RPATH value");
            info.rpath
                .extend(v.split(':').filter(|s| !s.is_empty()).map(String::from));
        } else if t.contains("(RUNPATH)") {
            let v = bracketed(t, "Library runpath: [").expect("RUNPATH value");
            info.runpath
                .extend(v.split(':').filter(|s| !s.is_empty()).map(String::from));
        } else if let Some(id) = t.split_once("Build ID: ").map(|(_, id)| id) {
            // Only the first build-id note counts (there is one in practice).
            info.build_id.get_or_insert_with(|| id.trim().to_string());
        }
    }
    info
}

fn is_elf(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"\x7fELF"
}

/// Every `step`-th regular ELF file directly in `dir` (sorted), at most `max`.
fn sample(dir: &str, step: usize, max: usize) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.symlink_metadata().is_ok_and(|m| m.is_file()) && is_elf(p))
        .collect();
    files.sort();
    files.into_iter().step_by(step).take(max).collect()
}

fn find_debug_file() -> Option<PathBuf> {
    let root = Path::new("/usr/lib/debug/.build-id");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    dirs.iter().find_map(|d| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(d)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        files
            .into_iter()
            .find(|f| f.extension().is_some_and(|x| x == "debug") && is_elf(f))
    })
}

fn check(path: &Path) -> ElfInfo {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ours = parse_elf(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let oracle = readelf(path);
    assert_eq!(ours, oracle, "{} differs from readelf", path.display());
    ours
}

#[test]
fn real_files_match_readelf() {
    let mut files = sample("/usr/bin", 7, 25);
    files.extend(sample("/usr/lib/x86_64-linux-gnu", 5, 25));
    // Static-pie in Debian: no PT_INTERP, no DT_NEEDED, but a build-id.
    files.push(PathBuf::from("/sbin/ldconfig"));
    // A separate debug file (program headers kept, their bytes not), when
    // this machine has any: readelf finds no interpreter name, nor do we.
    if let Some(debug) = find_debug_file() {
        files.push(debug);
    }
    files.push(std::env::current_exe().expect("test binary"));
    assert!(files.len() >= 40, "too few ELF files found: {files:?}");
    let mut with_needed = 0;
    let mut with_soname = 0;
    let mut with_interp = 0;
    let mut with_build_id = 0;
    for f in &files {
        let info = check(f);
        with_needed += usize::from(!info.needed.is_empty());
        with_soname += usize::from(info.soname.is_some());
        with_interp += usize::from(info.interpreter.is_some());
        with_build_id += usize::from(info.build_id.is_some());
    }
    // The sample must exercise every field, or the comparison proves little.
    assert!(with_needed >= 20 && with_soname >= 10 && with_interp >= 10 && with_build_id >= 30);
    let ldconfig = parse_elf(&std::fs::read("/sbin/ldconfig").unwrap()).unwrap();
    assert!(ldconfig.interpreter.is_none() && ldconfig.needed.is_empty());
}

/// Writes minimal ELF files of any class and byte order.
struct ElfWriter {
    big: bool,
    is_64: bool,
    buf: Vec<u8>,
}

const BASE: u64 = 0x40_0000;

impl ElfWriter {
    fn u16(&mut self, v: u16) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
    }
    fn u32(&mut self, v: u32) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
    }
    fn u64(&mut self, v: u64) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
    }
    /// An address/offset/size-class word (`Elf32_Addr` or `Elf64_Addr`).
    fn word(&mut self, v: u64) {
        if self.is_64 {
            self.u64(v)
        } else {
            self.u32(u32::try_from(v).unwrap())
        }
    }
    fn align(&mut self, to: usize) {
        while !self.buf.len().is_multiple_of(to) {
            self.buf.push(0);
        }
    }
    fn patch_word(&mut self, at: usize, v: u64) {
        let bytes: Vec<u8> = match (self.is_64, self.big) {
            (true, true) => v.to_be_bytes().to_vec(),
            (true, false) => v.to_le_bytes().to_vec(),
            (false, true) => (v as u32).to_be_bytes().to_vec(),
            (false, false) => (v as u32).to_le_bytes().to_vec(),
        };
        self.buf[at..at + bytes.len()].copy_from_slice(&bytes);
    }
    fn patch_u16(&mut self, at: usize, v: u16) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf[at..at + 2].copy_from_slice(&b);
    }
}

struct Spec {
    big: bool,
    is_64: bool,
    machine: u16,
    interp: Option<&'static str>,
    needed: &'static [&'static str],
    soname: Option<&'static str>,
    rpath: Option<&'static str>,
    runpath: Option<&'static str>,
    build_id: &'static [u8],
    /// Program headers (the loader's view) or only section headers.
    segments: bool,
}

/// Lays out: header, program headers, interp, note, dynstr, dynamic, then
/// section headers. One `PT_LOAD` maps the whole file at [`BASE`], so
/// `DT_STRTAB` is an address, not an offset.
fn build(spec: &Spec) -> Vec<u8> {
    let mut w = ElfWriter {
        big: spec.big,
        is_64: spec.is_64,
        buf: Vec::new(),
    };
    let (ehsize, phentsize, shentsize, dynsize) = if spec.is_64 {
        (64u16, 56u16, 64u16, 16usize)
    } else {
        (52, 32, 40, 8)
    };
    // e_ident
    w.buf.extend_from_slice(b"\x7fELF");
    w.buf.push(if spec.is_64 { 2 } else { 1 });
    w.buf.push(if spec.big { 2 } else { 1 });
    w.buf.push(1);
    w.buf.resize(16, 0);
    w.u16(3); // ET_DYN
    w.u16(spec.machine);
    w.u32(1);
    w.word(0); // e_entry
    let phoff_at = w.buf.len();
    w.word(0); // e_phoff, patched
    let shoff_at = w.buf.len();
    w.word(0); // e_shoff, patched
    w.u32(0); // e_flags
    w.u16(ehsize);
    w.u16(phentsize);
    let phnum_at = w.buf.len();
    w.u16(0);
    w.u16(shentsize);
    let shnum_at = w.buf.len();
    w.u16(0);
    let shstrndx_at = w.buf.len();
    w.u16(0);
    assert_eq!(w.buf.len(), ehsize as usize);

    let phnum: u16 = if spec.segments {
        3 + u16::from(spec.interp.is_some())
    } else {
        0
    };
    let phoff = w.buf.len();
    w.buf.resize(phoff + phnum as usize * phentsize as usize, 0);

    let interp_off = w.buf.len();
    if let Some(i) = spec.interp {
        w.buf.extend_from_slice(i.as_bytes());
        w.buf.push(0);
    }
    let interp_len = w.buf.len() - interp_off;

    w.align(4);
    let note_off = w.buf.len();
    w.u32(4);
    w.u32(spec.build_id.len() as u32);
    w.u32(3); // NT_GNU_BUILD_ID
    w.buf.extend_from_slice(b"GNU\0");
    w.buf.extend_from_slice(spec.build_id);
    w.align(4);
    let note_len = w.buf.len() - note_off;

    // A leading NUL, like every string table, so offset 0 is "".
    let dynstr_off = w.buf.len();
    let mut strings: Vec<(u64, u64)> = Vec::new(); // (tag, offset)
    w.buf.push(0);
    let mut add = |w: &mut ElfWriter, tag: u64, s: &str| {
        strings.push((tag, (w.buf.len() - dynstr_off) as u64));
        w.buf.extend_from_slice(s.as_bytes());
        w.buf.push(0);
    };
    for n in spec.needed {
        add(&mut w, 1, n);
    }
    if let Some(s) = spec.soname {
        add(&mut w, 14, s);
    }
    if let Some(s) = spec.rpath {
        add(&mut w, 15, s);
    }
    if let Some(s) = spec.runpath {
        add(&mut w, 29, s);
    }
    let dynstr_len = w.buf.len() - dynstr_off;

    w.align(8);
    let dyn_off = w.buf.len();
    let mut entries = strings.clone();
    entries.push((5, BASE + dynstr_off as u64)); // DT_STRTAB
    entries.push((10, dynstr_len as u64)); // DT_STRSZ
    entries.push((0, 0)); // DT_NULL
    for (tag, val) in &entries {
        w.word(*tag);
        w.word(*val);
    }
    let dyn_len = entries.len() * dynsize;

    // Section header names.
    let shstr_off = w.buf.len();
    let names = b"\0.dynstr\0.dynamic\0.note.gnu.build-id\0.shstrtab\0";
    w.buf.extend_from_slice(names);
    let name_at = |n: &str| -> u32 {
        let needle = format!("\0{n}\0");
        names
            .windows(needle.len())
            .position(|win| win == needle.as_bytes())
            .unwrap() as u32
            + 1
    };
    let file_len = w.buf.len() as u64;

    // Program headers.
    if spec.segments {
        let mut ph = ElfWriter {
            big: spec.big,
            is_64: spec.is_64,
            buf: Vec::new(),
        };
        let mut phdr = |ty: u32, flags: u32, off: u64, vaddr: u64, size: u64, align: u64| {
            ph.u32(ty);
            if ph.is_64 {
                ph.u32(flags);
            }
            ph.word(off);
            ph.word(vaddr);
            ph.word(vaddr);
            ph.word(size);
            ph.word(size);
            if !ph.is_64 {
                ph.u32(flags);
            }
            ph.word(align);
        };
        phdr(1, 5, 0, BASE, file_len, 0x1000); // PT_LOAD
        if spec.interp.is_some() {
            phdr(
                3,
                4,
                interp_off as u64,
                BASE + interp_off as u64,
                interp_len as u64,
                1,
            );
        }
        phdr(
            2,
            6,
            dyn_off as u64,
            BASE + dyn_off as u64,
            dyn_len as u64,
            8,
        );
        phdr(
            4,
            4,
            note_off as u64,
            BASE + note_off as u64,
            note_len as u64,
            4,
        );
        w.buf[phoff..phoff + ph.buf.len()].copy_from_slice(&ph.buf);
        w.patch_word(phoff_at, phoff as u64);
        w.patch_u16(phnum_at, phnum);
    }

    // Section headers: null, .dynstr, .dynamic, .note.gnu.build-id, .shstrtab.
    w.align(8);
    let shoff = w.buf.len();
    let shdr = |w: &mut ElfWriter,
                name: u32,
                ty: u32,
                addr: u64,
                off: u64,
                size: u64,
                link: u32,
                entsize: u64| {
        w.u32(name);
        w.u32(ty);
        w.word(if ty == 0 { 0 } else { 2 }); // SHF_ALLOC
        w.word(addr);
        w.word(off);
        w.word(size);
        w.u32(link);
        w.u32(0);
        w.word(if ty == 6 { 8 } else { 1 });
        w.word(entsize);
    };
    shdr(&mut w, 0, 0, 0, 0, 0, 0, 0);
    shdr(
        &mut w,
        name_at(".dynstr"),
        3,
        BASE + dynstr_off as u64,
        dynstr_off as u64,
        dynstr_len as u64,
        0,
        0,
    );
    shdr(
        &mut w,
        name_at(".dynamic"),
        6,
        BASE + dyn_off as u64,
        dyn_off as u64,
        dyn_len as u64,
        1,
        dynsize as u64,
    );
    shdr(
        &mut w,
        name_at(".note.gnu.build-id"),
        7,
        BASE + note_off as u64,
        note_off as u64,
        note_len as u64,
        0,
        0,
    );
    shdr(
        &mut w,
        name_at(".shstrtab"),
        3,
        0,
        shstr_off as u64,
        names.len() as u64,
        0,
        0,
    );
    w.patch_word(shoff_at, shoff as u64);
    w.patch_u16(shnum_at, 5);
    w.patch_u16(shstrndx_at, 4);
    w.buf
}

fn synthetic_specs() -> Vec<(&'static str, Spec)> {
    vec![
        (
            "be64-s390x",
            Spec {
                big: true,
                is_64: true,
                machine: 22,
                interp: Some("/lib/ld64.so.1"),
                needed: &["libz.so.1", "libc.so.6"],
                soname: None,
                rpath: None,
                runpath: Some("$ORIGIN/../lib:/opt/app/lib"),
                build_id: &[0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04],
                segments: true,
            },
        ),
        (
            "be32-ppc",
            Spec {
                big: true,
                is_64: false,
                machine: 20,
                interp: None,
                needed: &["libm.so.6"],
                soname: Some("libfoo.so.2"),
                rpath: Some("/usr/local/lib::/opt/old"),
                runpath: None,
                build_id: &[0x11; 20],
                segments: true,
            },
        ),
        (
            "le32-i386-rpath-and-runpath",
            Spec {
                big: false,
                is_64: false,
                machine: 3,
                interp: Some("/lib/ld-linux.so.2"),
                needed: &["libpthread.so.0", "libc.so.6"],
                soname: None,
                rpath: Some("/ignored/when/runpath"),
                runpath: Some("/run/path"),
                build_id: &[0x42; 16],
                segments: true,
            },
        ),
        (
            "le64-sections-only",
            Spec {
                big: false,
                is_64: true,
                machine: 62,
                interp: None,
                needed: &["libssl.so.3"],
                soname: Some("libsectiononly.so"),
                rpath: None,
                runpath: None,
                build_id: &[0xab; 20],
                segments: false,
            },
        ),
    ]
}

#[test]
fn synthetic_files_of_every_class_and_byte_order_match_readelf() {
    let dir = tempfile::tempdir().unwrap();
    for (name, spec) in synthetic_specs() {
        let path = dir.path().join(name);
        std::fs::write(&path, build(&spec)).unwrap();
        let info = check(&path);
        // readelf agreeing with us is the test; this guards the builder.
        let expected: &[&str] = if spec.segments { spec.needed } else { &[] };
        assert_eq!(info.needed, expected, "{name}");
        assert_eq!(info.is_64, spec.is_64, "{name}");
    }
}

#[test]
fn truncated_and_corrupted_files_never_panic() {
    let mut inputs: Vec<Vec<u8>> = synthetic_specs().iter().map(|(_, s)| build(s)).collect();
    inputs.push(std::fs::read("/usr/bin/ls").expect("/usr/bin/ls"));
    for data in inputs {
        let whole = parse_elf(&data).expect("intact file parses");
        for cut in (0..data.len()).step_by((data.len() / 200).max(1)) {
            if let Ok(info) = parse_elf(&data[..cut]) {
                // A prefix can only lose facts, never invent them.
                assert!(info.needed.iter().all(|n| whole.needed.contains(n)));
                if let Some(i) = &info.interpreter {
                    assert_eq!(Some(i), whole.interpreter.as_ref());
                }
            }
        }
        // Flip bytes in the headers and tables.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..500 {
            let mut copy = data.clone();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state as usize) % copy.len().min(4096);
                copy[at] = (state >> 32) as u8;
            }
            let _ = parse_elf(&copy);
        }
    }
}

#[test]
fn a_corrupt_elf_is_a_warning_naming_it_and_the_scan_goes_on() {
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("usr/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let good = std::fs::read("/usr/bin/true").expect("/usr/bin/true");
    std::fs::write(bin.join("true"), &good).unwrap();
    // The same binary cut inside its program header table.
    std::fs::write(bin.join("broken"), &good[..100]).unwrap();
    let dpkg = root.path().join("var/lib/dpkg");
    std::fs::create_dir_all(&dpkg).unwrap();
    std::fs::write(
        dpkg.join("status"),
        "Package: coreutils\nStatus: install ok installed\nVersion: 9.1-1\nArchitecture: amd64\n",
    )
    .unwrap();
    let inv = stella_analyzers::scan_dir(
        root.path(),
        "dir:test",
        &stella_analyzers::ScanOptions::default(),
    )
    .expect("the scan does not fail on a corrupt ELF");
    let warnings: Vec<_> = inv
        .warnings
        .iter()
        .map(|w| (w.path.as_deref().unwrap_or_default(), w.message.as_str()))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].0, "usr/bin/broken");
    assert!(
        warnings[0].1.starts_with("elf: malformed ELF"),
        "{warnings:?}"
    );
    assert_eq!(inv.components.len(), 1);
    assert_eq!(inv.components[0].name, "coreutils");
}
