//! What a dynamically linked program needs to start in a `FROM scratch`
//! image: its program interpreter (`PT_INTERP`) and its `DT_NEEDED`
//! libraries, transitively, found on this host the way glibc's ld.so finds
//! them:
//!
//! the requesting object's `DT_RPATH` and those of the objects that loaded
//! it (only when it has no `DT_RUNPATH`), then its `DT_RUNPATH`, then the
//! directories of `/etc/ld.so.conf` and its includes (what `ld.so.cache` is
//! built from), then the default directories, Debian multiarch first.
//! `$ORIGIN` expands to the requesting object's directory. A candidate must
//! be an ELF file of the program's class and machine, as ld.so requires.
//! `LD_LIBRARY_PATH` is ignored on purpose: the image must not depend on the
//! environment of whoever built it.
//!
//! Every library is placed in the image in one of the loader's default
//! directories (where it was found when that is one, else the first default
//! directory), because the image has no `ld.so.cache` and the program's
//! `$ORIGIN` differs inside the image: the default directories are the ones
//! ld.so always searches. (`analyzers::usage` resolves the same way inside a
//! scanned image; here the files are the host's and the placement matters.)

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use stella_analyzers::binary::elf_facts::parse_elf;
use stella_analyzers::ElfInfo;

use super::ImageError;

/// Most objects in one closure (a real program loads a few dozen).
const MAX_OBJECTS: usize = 512;
/// `include` nesting in ld.so.conf.
const MAX_INCLUDE_DEPTH: usize = 8;
/// Largest shared object read (a real libc is a few MB).
const MAX_OBJECT_BYTES: u64 = 1 << 30;

/// One file the program needs, and where it goes in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeFile {
    /// Absolute path inside the image.
    pub image_path: String,
    /// The host file it is read from (symlinks resolved).
    pub host_path: PathBuf,
    /// Executable (the interpreter) rather than a plain library.
    pub executable: bool,
}

/// The program's ELF facts and the files it needs besides itself (empty for
/// a static binary), sorted by image path.
#[derive(Debug, Clone)]
pub struct RuntimeClosure {
    pub program: ElfInfo,
    pub files: Vec<RuntimeFile>,
}

/// Where the host's loader configuration and libraries live: `/` normally,
/// a fixture root in tests.
#[derive(Debug, Clone)]
pub struct HostRoot {
    pub root: PathBuf,
}

impl Default for HostRoot {
    fn default() -> Self {
        HostRoot {
            root: PathBuf::from("/"),
        }
    }
}

impl HostRoot {
    fn host_path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }
}

/// One loaded object of the closure.
struct Object {
    /// The path it was found at (for messages).
    path: String,
    /// The directory it was found in, as ld.so sees it (for `$ORIGIN`).
    dir: String,
    elf: ElfInfo,
    loader: Option<usize>,
}

/// Reads `program` and finds everything it needs to run (see the module doc).
pub fn resolve(program: &Path, host: &HostRoot) -> Result<RuntimeClosure, ImageError> {
    let data = read_limited(program)?;
    let elf = parse_elf(&data).map_err(|reason| ImageError::NotAProgram {
        path: program.to_path_buf(),
        reason,
    })?;
    let mut files = BTreeMap::new();
    // Names already satisfied: DT_NEEDED names and SONAMEs (ld.so matches both).
    let mut loaded: BTreeSet<String> = BTreeSet::new();
    if let Some(interp) = &elf.interpreter {
        if elf.interpreter_is_musl() {
            return Err(ImageError::Unsupported(format!(
                "{}: musl-linked programs ({interp}) are not packaged yet; build a static binary",
                program.display()
            )));
        }
        let host_path = canonical(host, interp).ok_or_else(|| ImageError::MissingDependency {
            name: interp.clone(),
            needed_by: program.display().to_string(),
        })?;
        // The interpreter is loaded before anything else: libraries that
        // name it (libc needs `ld-linux-x86-64.so.2`) get it, as in ld.so.
        if let Some(name) = interp.rsplit('/').next() {
            loaded.insert(name.to_string());
        }
        if let Some(soname) = parse_elf(&read_limited(&host_path)?)
            .ok()
            .and_then(|e| e.soname)
        {
            loaded.insert(soname);
        }
        insert(&mut files, interp.clone(), host_path, true)?;
    } else if !elf.needed.is_empty() {
        return Err(ImageError::NotAProgram {
            path: program.to_path_buf(),
            reason: "it needs shared libraries but names no program interpreter".into(),
        });
    }

    let defaults = default_dirs(host, &elf);
    let ld_so_conf = read_ld_so_conf(host);
    let program_dir = program
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "/".into());
    let mut objects = vec![Object {
        path: program.display().to_string(),
        dir: program_dir,
        elf: elf.clone(),
        loader: None,
    }];
    let mut queue = VecDeque::from([0usize]);
    while let Some(index) = queue.pop_front() {
        for name in objects[index].elf.needed.clone() {
            if loaded.contains(&name) {
                continue;
            }
            let dirs = search_dirs(&objects, index, &ld_so_conf, &defaults);
            let Some(found) = search(host, &name, &dirs, &elf) else {
                return Err(ImageError::MissingDependency {
                    name,
                    needed_by: objects[index].path.clone(),
                });
            };
            if objects.len() >= MAX_OBJECTS {
                return Err(ImageError::Unsupported(format!(
                    "{}: more than {MAX_OBJECTS} shared objects",
                    program.display()
                )));
            }
            loaded.insert(name.clone());
            if let Some(soname) = &found.elf.soname {
                loaded.insert(soname.clone());
            }
            let image_path = if name.contains('/') {
                name.clone()
            } else if defaults.contains(&found.dir) {
                format!("{}/{name}", found.dir)
            } else {
                let first = defaults.first().ok_or_else(|| {
                    ImageError::Unsupported(format!(
                        "no default library directory known for {} programs",
                        elf.machine
                    ))
                })?;
                format!("{first}/{name}")
            };
            insert(&mut files, image_path, found.host_path.clone(), false)?;
            objects.push(Object {
                path: found.host_path.display().to_string(),
                dir: found.dir,
                elf: found.elf,
                loader: Some(index),
            });
            queue.push_back(objects.len() - 1);
        }
    }
    Ok(RuntimeClosure {
        program: elf,
        files: files.into_values().collect(),
    })
}

/// Adds a file; the same image path from two different host files is an error.
fn insert(
    files: &mut BTreeMap<String, RuntimeFile>,
    image_path: String,
    host_path: PathBuf,
    executable: bool,
) -> Result<(), ImageError> {
    if let Some(existing) = files.get(&image_path) {
        if existing.host_path != host_path {
            return Err(ImageError::Unsupported(format!(
                "{image_path} would come from both {} and {}",
                existing.host_path.display(),
                host_path.display()
            )));
        }
        return Ok(());
    }
    files.insert(
        image_path.clone(),
        RuntimeFile {
            image_path,
            host_path,
            executable,
        },
    );
    Ok(())
}

struct Found {
    dir: String,
    host_path: PathBuf,
    elf: ElfInfo,
}

/// The first compatible `DIR/name` (or `name` itself when it has a slash).
fn search(host: &HostRoot, name: &str, dirs: &[String], program: &ElfInfo) -> Option<Found> {
    let candidates: Vec<(String, String)> = if name.contains('/') {
        let (dir, _) = name.rsplit_once('/')?;
        vec![(dir.to_string(), name.to_string())]
    } else {
        dirs.iter()
            .map(|d| {
                let d = d.trim_end_matches('/');
                (d.to_string(), format!("{d}/{name}"))
            })
            .collect()
    };
    candidates.into_iter().find_map(|(dir, path)| {
        let host_path = canonical(host, &path)?;
        let data = read_limited(&host_path).ok()?;
        let elf = parse_elf(&data).ok()?;
        (elf.is_64 == program.is_64 && elf.machine == program.machine).then_some(Found {
            dir,
            host_path,
            elf,
        })
    })
}

/// The directories searched for a `DT_NEEDED` of object `index`.
fn search_dirs(
    objects: &[Object],
    index: usize,
    ld_so_conf: &[String],
    defaults: &[String],
) -> Vec<String> {
    let me = &objects[index];
    let mut dirs = Vec::new();
    if me.elf.runpath.is_empty() {
        let mut at = Some(index);
        while let Some(i) = at {
            dirs.extend(expand(&objects[i].elf.rpath, &objects[i].dir));
            at = objects[i].loader;
        }
    }
    dirs.extend(expand(&me.elf.runpath, &me.dir));
    dirs.extend(ld_so_conf.iter().cloned());
    dirs.extend(defaults.iter().cloned());
    dirs
}

/// `$ORIGIN` expanded; entries with other `$` tokens or relative paths
/// (which ld.so resolves against the working directory) are dropped.
fn expand(entries: &[String], origin: &str) -> Vec<String> {
    entries
        .iter()
        .map(|e| e.replace("${ORIGIN}", origin).replace("$ORIGIN", origin))
        .filter(|e| !e.contains('$') && e.starts_with('/'))
        .collect()
}

/// The loader's default directories for the program's machine that exist
/// on the host, Debian multiarch first.
fn default_dirs(host: &HostRoot, program: &ElfInfo) -> Vec<String> {
    let mut dirs = Vec::new();
    if let Some(triplet) = triplet(&program.machine) {
        dirs.push(format!("/lib/{triplet}"));
        dirs.push(format!("/usr/lib/{triplet}"));
    }
    if program.is_64 {
        dirs.extend(["/lib64", "/usr/lib64"].map(String::from));
    }
    dirs.extend(["/lib", "/usr/lib"].map(String::from));
    dirs.retain(|d| host.host_path(d).is_dir());
    dirs
}

fn triplet(machine: &str) -> Option<&'static str> {
    Some(match machine {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        "i386" => "i386-linux-gnu",
        "riscv" => "riscv64-linux-gnu",
        "s390" => "s390x-linux-gnu",
        "ppc64" => "powerpc64le-linux-gnu",
        _ => return None,
    })
}

/// The host file behind an absolute path, symlinks resolved, when it is a
/// regular file.
fn canonical(host: &HostRoot, absolute: &str) -> Option<PathBuf> {
    let path = fs::canonicalize(host.host_path(absolute)).ok()?;
    path.is_file().then_some(path)
}

fn read_limited(path: &Path) -> Result<Vec<u8>, ImageError> {
    let io = |source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = fs::metadata(path).map_err(io)?.len();
    if size > MAX_OBJECT_BYTES {
        return Err(ImageError::Unsupported(format!(
            "{}: {size} bytes, more than the {MAX_OBJECT_BYTES} a program may have",
            path.display()
        )));
    }
    fs::read(path).map_err(io)
}

/// Directories of `/etc/ld.so.conf` and its includes, in order.
fn read_ld_so_conf(host: &HostRoot) -> Vec<String> {
    let mut out = Vec::new();
    read_conf_file(host, "/etc/ld.so.conf", 0, &mut out);
    out
}

fn read_conf_file(host: &HostRoot, path: &str, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_INCLUDE_DEPTH {
        return;
    }
    let Ok(text) = fs::read_to_string(host.host_path(path)) else {
        return;
    };
    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if let Some(patterns) = line.strip_prefix("include") {
            if !patterns.starts_with([' ', '\t']) {
                continue;
            }
            for pattern in patterns.split_whitespace() {
                let pattern = if pattern.starts_with('/') {
                    pattern.to_string()
                } else {
                    format!("{dir}/{pattern}")
                };
                for included in glob_last(host, &pattern) {
                    read_conf_file(host, &included, depth + 1, out);
                }
            }
        } else if !line.starts_with("hwcap") {
            for d in line.split([' ', '\t', ':', ',']).filter(|d| !d.is_empty()) {
                if !out.iter().any(|o| o == d) {
                    out.push(d.to_string());
                }
            }
        }
    }
}

/// Expands a `*` in the last component (what ld.so.conf includes use:
/// `include /etc/ld.so.conf.d/*.conf`), sorted like glob(3).
fn glob_last(host: &HostRoot, pattern: &str) -> Vec<String> {
    let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    let Some((prefix, suffix)) = name.split_once('*') else {
        return vec![pattern.to_string()];
    };
    let Ok(entries) = fs::read_dir(host.host_path(dir)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| {
            !n.starts_with('.')
                && n.len() >= prefix.len() + suffix.len()
                && n.starts_with(prefix)
                && n.ends_with(suffix)
        })
        .collect();
    names.sort();
    names.into_iter().map(|n| format!("{dir}/{n}")).collect()
}

/// Musl detection by interpreter name.
trait InterpreterKind {
    fn interpreter_is_musl(&self) -> bool;
}

impl InterpreterKind for ElfInfo {
    fn interpreter_is_musl(&self) -> bool {
        self.interpreter
            .as_deref()
            .and_then(|i| i.rsplit('/').next())
            .is_some_and(|n| n.starts_with("ld-musl-"))
    }
}
