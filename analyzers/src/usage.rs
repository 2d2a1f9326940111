//! The usage view: the files the traced entrypoint actually runs or loads,
//! and the components that own them.
//!
//! Roots are every ELF program on the entrypoint chains (wrappers, shells,
//! interpreters, final programs) and every script on them. Each ELF root
//! pulls in its program interpreter (`PT_INTERP`) and its `DT_NEEDED`
//! libraries, transitively, found the way the dynamic loader finds them:
//!
//! - glibc (`ld-linux*`): the requesting object's `DT_RPATH` and those of the
//!   objects that loaded it (only when it has no `DT_RUNPATH`), then
//!   `LD_LIBRARY_PATH` from the image environment, then its `DT_RUNPATH`,
//!   then the directories of `/etc/ld.so.conf` and its `include`s (standing
//!   in for `ld.so.cache`, which is built from them), then the default
//!   directories, Debian multiarch first (`/lib/<triplet>`,
//!   `/usr/lib/<triplet>`, `/lib64`, `/usr/lib64`, `/lib`, `/usr/lib`);
//! - musl (`ld-musl-*`): `LD_LIBRARY_PATH`, the rpath/runpath of the
//!   requesting object and its loaders, then `/etc/ld-musl-<arch>.path`, else
//!   `/lib:/usr/local/lib:/usr/lib`.
//!
//! `$ORIGIN` expands to the requesting object's directory; entries with
//! other `$` tokens are skipped. A candidate must be an ELF file of the same
//! class and machine as the program, as ld.so requires.
//!
//! Language runtimes load code that no ELF header names. When a chain's
//! final program is one ([`Runtime`]), the closure also holds what that
//! runtime can import: for Python `X.Y`, its standard library (the
//! `lib/pythonX.Y/os.py` landmark and every extension module of
//! `lib/pythonX.Y/lib-dynload`, with their libraries) and every PyPI
//! component installed under a `pythonX.Y/{site,dist}-packages` or Debian's
//! `python3/dist-packages`; for node, java, ruby and php, every component of
//! their ecosystem (npm, Maven, gems, Composer), and for java the JDK's own
//! `lib/*.so` and `lib/server/*.so`. Those components' evidence files join
//! the closure, so the OS packages that ship them count as used too.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use stella_model::{Component, ComponentKind, EntryStepKind, EntryTrace, PROP_USAGE};

use crate::entrytrace::TraceFs;
use crate::file_analyzer::ElfInfo;
use crate::fs::FsView;

/// Most objects loaded for one root (a hostile image could chain many).
const MAX_OBJECTS: usize = 4096;
/// `include` nesting in ld.so.conf.
const MAX_INCLUDE_DEPTH: usize = 8;

/// Paths the usage view needs buffered: the loader configuration.
pub fn wants(path: &str) -> bool {
    path == "etc/ld.so.conf"
        || path.starts_with("etc/ld.so.conf.d/")
        || (path.starts_with("etc/ld-musl-") && path.ends_with(".path"))
}

/// The dynamic loaders' search configuration, read from the image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoaderConfig {
    /// Directories from `/etc/ld.so.conf` and its includes, in order.
    pub ld_so_conf: Vec<String>,
    /// Contents of `/etc/ld-musl-<arch>.path`, by arch.
    pub musl_paths: BTreeMap<String, Vec<String>>,
}

impl LoaderConfig {
    pub fn read(view: &dyn FsView) -> LoaderConfig {
        let mut config = LoaderConfig::default();
        read_ld_so_conf(view, "etc/ld.so.conf", 0, &mut config.ld_so_conf);
        for name in view.list_dir("etc").unwrap_or_default() {
            let Some(arch) = name
                .strip_prefix("ld-musl-")
                .and_then(|n| n.strip_suffix(".path"))
            else {
                continue;
            };
            if let Ok(Some(file)) = view.read(&format!("etc/{name}")) {
                let dirs = String::from_utf8_lossy(file.bytes)
                    .split(['\n', ':'])
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
                    .collect();
                config.musl_paths.insert(arch.to_string(), dirs);
            }
        }
        config
    }
}

fn read_ld_so_conf(view: &dyn FsView, path: &str, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_INCLUDE_DEPTH {
        return;
    }
    let Ok(Some(file)) = view.read(path) else {
        return;
    };
    let text = String::from_utf8_lossy(file.bytes).into_owned();
    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if let Some(pattern) = line.strip_prefix("include") {
            if !pattern.starts_with([' ', '\t']) {
                continue;
            }
            for pattern in pattern.split_whitespace() {
                // Relative includes are relative to the including file.
                let pattern = match pattern.strip_prefix('/') {
                    Some(abs) => abs.to_string(),
                    None => format!("{dir}/{pattern}"),
                };
                for included in glob(view, &pattern) {
                    read_ld_so_conf(view, &included, depth + 1, out);
                }
            }
        } else if line.starts_with("hwcap") {
            continue;
        } else {
            for d in line.split([' ', '\t', ':', ',']).filter(|d| !d.is_empty()) {
                if !out.iter().any(|o| o == d) {
                    out.push(d.to_string());
                }
            }
        }
    }
}

/// Expands `*` and `?` in the last component of `pattern` (what ld.so.conf
/// includes use), sorted like glob(3).
fn glob(view: &dyn FsView, pattern: &str) -> Vec<String> {
    let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    if !name.contains(['*', '?']) {
        return vec![pattern.to_string()];
    }
    view.list_dir(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| !n.starts_with('.') && wildcard(name.as_bytes(), n.as_bytes()))
        .map(|n| format!("{dir}/{n}"))
        .collect()
}

/// `*`/`?` matching without backtracking blow-ups: on a mismatch only the
/// last `*` is retried, one character further (O(pattern × name)).
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Debian multiarch triplets for an ELF machine.
fn triplets(machine: &str) -> &'static [&'static str] {
    match machine {
        "x86_64" => &["x86_64-linux-gnu"],
        "aarch64" => &["aarch64-linux-gnu"],
        "i386" => &["i386-linux-gnu"],
        "arm" => &["arm-linux-gnueabihf", "arm-linux-gnueabi"],
        "ppc64" => &["powerpc64le-linux-gnu", "powerpc64-linux-gnu"],
        "s390" => &["s390x-linux-gnu"],
        "riscv" => &["riscv64-linux-gnu"],
        "mips" => &["mips64el-linux-gnuabi64", "mipsel-linux-gnu"],
        "loongarch" => &["loongarch64-linux-gnu"],
        _ => &[],
    }
}

/// The language runtime a final program is, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// With `X.Y` when the name carries it.
    Python(Option<String>),
    Node,
    Java,
    Ruby,
    Php,
}

impl Runtime {
    pub fn named(name: &str) -> Option<Runtime> {
        if let Some(rest) = name.strip_prefix("python") {
            let version = rest.trim_end_matches(['d', 'm', 'u']);
            if version.is_empty() || version == "2" || version == "3" {
                return Some(Runtime::Python(None));
            }
            let mut parts = version.split('.');
            let ok = parts.clone().count() == 2 && parts.all(|p| p.parse::<u32>().is_ok());
            return ok.then(|| Runtime::Python(Some(version.to_string())));
        }
        match name {
            "node" | "nodejs" => Some(Runtime::Node),
            "java" => Some(Runtime::Java),
            _ if name == "ruby" || name.strip_prefix("ruby").is_some_and(is_version) => {
                Some(Runtime::Ruby)
            }
            _ if name == "php"
                || name.strip_prefix("php").is_some_and(is_version)
                || name.starts_with("php-fpm") =>
            {
                Some(Runtime::Php)
            }
            _ => None,
        }
    }
}

fn is_version(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// The usage closure of a trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Closure {
    pub files: BTreeSet<String>,
    /// `NAME (needed by /PATH)`.
    pub unresolved: BTreeSet<String>,
}

/// Computes the closure of `trace` (see the module doc). `env` is the image
/// environment (for `LD_LIBRARY_PATH`); `components` are the scan's.
pub fn closure(
    fs: &dyn TraceFs,
    trace: &EntryTrace,
    env: &BTreeMap<String, String>,
    loader: &LoaderConfig,
    components: &[Component],
) -> Closure {
    let mut out = Closure::default();
    let ld_library_path: Vec<String> = env
        .get("LD_LIBRARY_PATH")
        .map(|v| {
            v.split(':')
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut roots: Vec<String> = Vec::new();
    for chain in &trace.chains {
        for step in &chain.steps {
            out.files.insert(step.path.clone());
            out.files.extend(step.via.clone());
            if fs.elf(&step.path).is_some() {
                roots.push(step.path.clone());
            }
        }
        let Some(last) = chain.steps.last() else {
            continue;
        };
        if chain.stopped.is_some() || matches!(last.kind, EntryStepKind::Script) {
            continue;
        }
        let invoked = last.argv.first().map(String::as_str).unwrap_or_default();
        let runtime =
            Runtime::named(base_name(&last.path)).or_else(|| Runtime::named(base_name(invoked)));
        if let Some(runtime) = runtime {
            runtime_files(
                fs,
                &last.path,
                &runtime,
                components,
                &mut out.files,
                &mut roots,
            );
        }
    }
    roots.sort();
    roots.dedup();
    for root in roots {
        load(fs, &root, &ld_library_path, loader, &mut out);
    }
    out
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// Adds what a language runtime imports (see the module doc).
fn runtime_files(
    fs: &dyn TraceFs,
    program: &str,
    runtime: &Runtime,
    components: &[Component],
    files: &mut BTreeSet<String>,
    roots: &mut Vec<String>,
) {
    // `usr/bin/python3.11` → prefix `usr`.
    let prefix = parent(parent(program));
    let join = |dir: &str, name: &str| {
        if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        }
    };
    let ecosystem = |kind: ComponentKind, files: &mut BTreeSet<String>| {
        for c in components.iter().filter(|c| c.kind == kind) {
            files.extend(c.evidence.iter().cloned());
        }
    };
    match runtime {
        Runtime::Python(version) => {
            let version = version
                .clone()
                .or_else(|| base_name(program).strip_prefix("python").map(String::from))
                .filter(|v| v.contains('.'));
            let Some(version) = version else {
                return;
            };
            let lib = join(prefix, &format!("lib/python{version}"));
            if let Ok(Some(os)) = fs.stat(&format!("{lib}/os.py")) {
                files.insert(os.path);
            }
            let dynload = format!("{lib}/lib-dynload");
            for name in fs.list_dir(&dynload) {
                if let Ok(Some(stat)) = fs.stat(&format!("{dynload}/{name}")) {
                    if fs.elf(&stat.path).is_some() {
                        roots.push(stat.path.clone());
                        files.insert(stat.path);
                    }
                }
            }
            let markers = [
                format!("python{version}/site-packages/"),
                format!("python{version}/dist-packages/"),
                "python3/dist-packages/".to_string(),
            ];
            for c in components.iter().filter(|c| c.kind == ComponentKind::Pypi) {
                if c.evidence
                    .iter()
                    .any(|e| markers.iter().any(|m| e.contains(m.as_str())))
                {
                    files.extend(c.evidence.iter().cloned());
                }
            }
        }
        Runtime::Node => ecosystem(ComponentKind::Npm, files),
        Runtime::Ruby => ecosystem(ComponentKind::Gem, files),
        Runtime::Php => ecosystem(ComponentKind::Composer, files),
        Runtime::Java => {
            ecosystem(ComponentKind::Maven, files);
            for dir in [join(prefix, "lib"), join(prefix, "lib/server")] {
                for name in fs.list_dir(&dir) {
                    if !name.ends_with(".so") {
                        continue;
                    }
                    if let Ok(Some(stat)) = fs.stat(&format!("{dir}/{name}")) {
                        if fs.elf(&stat.path).is_some() {
                            roots.push(stat.path.clone());
                            files.insert(stat.path);
                        }
                    }
                }
            }
        }
    }
}

/// One loaded object.
struct Object<'a> {
    path: String,
    elf: &'a ElfInfo,
    /// Index of the object whose DT_NEEDED brought it in.
    loader: Option<usize>,
}

/// Loads `root` like ld.so would and adds every object to the closure.
fn load(
    fs: &dyn TraceFs,
    root: &str,
    ld_library_path: &[String],
    loader_config: &LoaderConfig,
    out: &mut Closure,
) {
    let Some(root_elf) = fs.elf(root) else {
        return;
    };
    let musl_arch = root_elf
        .interpreter
        .as_deref()
        .map(base_name)
        .and_then(|n| n.strip_prefix("ld-musl-"))
        .and_then(|n| n.split(".so").next())
        .map(str::to_string);
    if let Some(interp) = &root_elf.interpreter {
        match fs.stat(interp.trim_start_matches('/')) {
            Ok(Some(stat)) if stat.is_file => {
                out.files.insert(stat.path);
            }
            _ => {
                out.unresolved
                    .insert(format!("{interp} (program interpreter of /{root})"));
            }
        }
    }
    let mut objects = vec![Object {
        path: root.to_string(),
        elf: root_elf,
        loader: None,
    }];
    // Names already satisfied: the NEEDED names resolved so far and the
    // SONAMEs of loaded objects (ld.so matches both).
    let mut loaded: BTreeSet<String> = BTreeSet::new();
    let mut paths: BTreeSet<String> = BTreeSet::from([root.to_string()]);
    let mut queue = VecDeque::from([0usize]);
    while let Some(index) = queue.pop_front() {
        let needed = objects[index].elf.needed.clone();
        for name in needed {
            if loaded.contains(&name) || objects.len() >= MAX_OBJECTS {
                continue;
            }
            let found = search(
                fs,
                &objects,
                index,
                &name,
                ld_library_path,
                loader_config,
                musl_arch.as_deref(),
                root_elf,
            );
            let Some((path, elf)) = found else {
                out.unresolved
                    .insert(format!("{name} (needed by /{})", objects[index].path));
                continue;
            };
            loaded.insert(name);
            if let Some(soname) = &elf.soname {
                loaded.insert(soname.clone());
            }
            if paths.insert(path.clone()) {
                objects.push(Object {
                    path,
                    elf,
                    loader: Some(index),
                });
                queue.push_back(objects.len() - 1);
            }
        }
    }
    out.files.extend(paths);
}

/// Expands `$ORIGIN` in one search-path entry; `None` for other tokens.
fn expand_origin(entry: &str, origin: &str) -> Option<String> {
    let expanded = entry
        .replace("${ORIGIN}", origin)
        .replace("$ORIGIN", origin);
    (!expanded.contains('$')).then_some(expanded)
}

#[allow(clippy::too_many_arguments)]
fn search<'a>(
    fs: &'a dyn TraceFs,
    objects: &[Object<'_>],
    requester: usize,
    name: &str,
    ld_library_path: &[String],
    config: &LoaderConfig,
    musl_arch: Option<&str>,
    program: &ElfInfo,
) -> Option<(String, &'a ElfInfo)> {
    let compatible = |path: &str| -> Option<(String, &'a ElfInfo)> {
        let stat = fs.stat(path.trim_start_matches('/')).ok()??;
        if !stat.is_file {
            return None;
        }
        let elf = fs.elf(&stat.path)?;
        (elf.is_64 == program.is_64 && elf.machine == program.machine).then_some((stat.path, elf))
    };
    if name.contains('/') {
        return compatible(name);
    }
    // The requester and the objects that loaded it, up to the program.
    let mut ancestry = Vec::new();
    let mut at = Some(requester);
    while let Some(i) = at {
        ancestry.push(&objects[i]);
        at = objects[i].loader;
    }
    let origin_dirs = |object: &Object<'_>, entries: &[String]| -> Vec<String> {
        let origin = format!("/{}", parent(&object.path));
        entries
            .iter()
            .filter_map(|e| expand_origin(e, &origin))
            .collect()
    };
    let me = &objects[requester];
    let mut dirs: Vec<String> = Vec::new();
    match musl_arch {
        Some(arch) => {
            dirs.extend(ld_library_path.iter().cloned());
            for object in &ancestry {
                dirs.extend(origin_dirs(object, &object.elf.rpath));
                dirs.extend(origin_dirs(object, &object.elf.runpath));
            }
            match config.musl_paths.get(arch) {
                Some(path) => dirs.extend(path.iter().cloned()),
                None => dirs.extend(["/lib", "/usr/local/lib", "/usr/lib"].map(String::from)),
            }
        }
        None => {
            if me.elf.runpath.is_empty() {
                for object in &ancestry {
                    dirs.extend(origin_dirs(object, &object.elf.rpath));
                }
            }
            dirs.extend(ld_library_path.iter().cloned());
            dirs.extend(origin_dirs(me, &me.elf.runpath));
            dirs.extend(config.ld_so_conf.iter().cloned());
            for t in triplets(&program.machine) {
                dirs.push(format!("/lib/{t}"));
                dirs.push(format!("/usr/lib/{t}"));
            }
            if program.is_64 {
                dirs.extend(["/lib64", "/usr/lib64"].map(String::from));
            }
            dirs.extend(["/lib", "/usr/lib"].map(String::from));
        }
    }
    dirs.iter()
        .find_map(|d| compatible(&format!("{}/{name}", d.trim_end_matches('/'))))
}

/// Sets [`PROP_USAGE`] on every component owning a closure file: through
/// `owner_of` (package managers' file lists), or because one of its
/// evidence files is in the closure (binaries and archives that prove
/// components themselves).
pub fn mark(
    components: &mut [Component],
    files: &BTreeSet<String>,
    owner_of: &dyn Fn(&str) -> Option<usize>,
) {
    let mut used: BTreeSet<usize> = files.iter().filter_map(|f| owner_of(f)).collect();
    for (i, c) in components.iter().enumerate() {
        if c.evidence.iter().any(|e| files.contains(e)) {
            used.insert(i);
        }
    }
    for i in used {
        if let Some(c) = components.get_mut(i) {
            c.properties
                .insert(PROP_USAGE.to_string(), "true".to_string());
        }
    }
}

#[cfg(test)]
mod tests;
