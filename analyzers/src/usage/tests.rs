//! The loader search order and the runtime rules on small merged-/usr trees.

use super::*;
use crate::entrytrace::tests::{layer, reports, Node};
use crate::entrytrace::{trace, ImageFs, StartConfig};
use crate::fs::MemFs;
use crate::squash::SquashedFs;

fn elf(needed: &[&str], soname: Option<&str>) -> ElfInfo {
    ElfInfo {
        needed: needed.iter().map(|s| s.to_string()).collect(),
        soname: soname.map(String::from),
        machine: "x86_64".into(),
        is_64: true,
        ..ElfInfo::default()
    }
}

fn lib(soname: &str, needed: &[&str]) -> Node {
    Node::Facts(0o644, elf(needed, Some(soname)))
}

/// Runs the trace and the closure over one layer.
fn closure_of(
    root: crate::layer::LayerFs,
    entrypoint: &[&str],
    env: &[&str],
    loader: &LoaderConfig,
    components: &[Component],
) -> Closure {
    let layers = [root];
    let mut view = SquashedFs::new(&layers);
    view.apply_all();
    let reports = reports(&layers[0]);
    let fs = ImageFs {
        view: &view,
        reports: &reports,
    };
    let config = StartConfig {
        entrypoint: entrypoint.iter().map(|s| s.to_string()).collect(),
        env: env.iter().map(|s| s.to_string()).collect(),
        ..StartConfig::default()
    };
    let t = trace(&fs, &config);
    closure(&fs, &t, &config.environment(), loader, components)
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn libraries_are_found_in_ld_so_order() {
    let app = ElfInfo {
        interpreter: Some("/lib64/ld-linux-x86-64.so.2".into()),
        runpath: vec!["$ORIGIN/../lib/app".into()],
        // Ignored: the program has a RUNPATH.
        rpath: vec!["/opt/decoy".into()],
        ..elf(&["libfoo.so.1", "libc.so.6", "libmissing.so.9"], None)
    };
    let i386 = ElfInfo {
        is_64: false,
        machine: "i386".into(),
        ..elf(&[], Some("libfoo.so.1"))
    };
    let root = layer(&[
        ("lib", Node::Link("usr/lib")),
        ("lib64", Node::Link("usr/lib64")),
        ("usr/bin/app", Node::Facts(0o755, app)),
        ("opt/decoy/libfoo.so.1", lib("libfoo.so.1", &[])),
        // First on LD_LIBRARY_PATH, but 32-bit: ld.so skips it.
        ("opt/i386/libfoo.so.1", Node::Facts(0o644, i386)),
        (
            "usr/lib/app/libfoo.so.1",
            lib("libfoo.so.1", &["libbar.so.2", "libc.so.6"]),
        ),
        ("opt/conf/libbar.so.2", lib("libbar.so.2", &["libc.so.6"])),
        ("usr/lib/x86_64-linux-gnu/libc.so.6", lib("libc.so.6", &[])),
        (
            "usr/lib64/ld-linux-x86-64.so.2",
            Node::Link("../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
        ),
        (
            "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            lib("ld-linux-x86-64.so.2", &[]),
        ),
        // Never loaded.
        (
            "usr/lib/x86_64-linux-gnu/libunused.so.1",
            lib("libunused.so.1", &[]),
        ),
    ]);
    let loader = LoaderConfig {
        ld_so_conf: vec!["/opt/conf".into()],
        ..LoaderConfig::default()
    };
    let c = closure_of(
        root,
        &["/usr/bin/app"],
        &["LD_LIBRARY_PATH=/opt/i386"],
        &loader,
        &[],
    );
    assert_eq!(
        c.files,
        set(&[
            "opt/conf/libbar.so.2",
            "usr/bin/app",
            "usr/lib/app/libfoo.so.1",
            "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            "usr/lib/x86_64-linux-gnu/libc.so.6",
        ])
    );
    assert_eq!(
        c.unresolved,
        set(&["libmissing.so.9 (needed by /usr/bin/app)"])
    );
}

#[test]
fn rpath_of_the_loaders_applies_only_without_runpath() {
    let app = ElfInfo {
        rpath: vec!["/opt/app/lib".into()],
        ..elf(&["liba.so", "libb.so"], None)
    };
    // liba has no RUNPATH: the program's RPATH finds its libdep.
    // libb has a RUNPATH (pointing nowhere useful): the program's RPATH is not searched for it.
    let root = layer(&[
        ("app", Node::Facts(0o755, app)),
        ("opt/app/lib/liba.so", lib("liba.so", &["libdep.so"])),
        (
            "opt/app/lib/libb.so",
            Node::Facts(
                0o644,
                ElfInfo {
                    runpath: vec!["/nowhere".into()],
                    ..elf(&["libdep2.so"], Some("libb.so"))
                },
            ),
        ),
        ("opt/app/lib/libdep.so", lib("libdep.so", &[])),
        ("opt/app/lib/libdep2.so", lib("libdep2.so", &[])),
    ]);
    let c = closure_of(root, &["/app"], &[], &LoaderConfig::default(), &[]);
    assert!(c.files.contains("opt/app/lib/libdep.so"));
    assert!(!c.files.contains("opt/app/lib/libdep2.so"));
    assert_eq!(
        c.unresolved,
        set(&["libdep2.so (needed by /opt/app/lib/libb.so)"])
    );
}

#[test]
fn musl_uses_its_path_file() {
    let root = || {
        let app = ElfInfo {
            interpreter: Some("/lib/ld-musl-x86_64.so.1".into()),
            ..elf(&["libz.so.1", "libc.musl-x86_64.so.1"], None)
        };
        layer(&[
            ("bin/app", Node::Facts(0o755, app)),
            ("lib/ld-musl-x86_64.so.1", lib("libc.musl-x86_64.so.1", &[])),
            (
                "lib/libc.musl-x86_64.so.1",
                Node::Link("ld-musl-x86_64.so.1"),
            ),
            ("usr/lib/libz.so.1", lib("libz.so.1", &[])),
            ("opt/z/libz.so.1", lib("libz.so.1", &[])),
        ])
    };
    // Without /etc/ld-musl-x86_64.path: /lib:/usr/local/lib:/usr/lib.
    let default = closure_of(root(), &["/bin/app"], &[], &LoaderConfig::default(), &[]);
    assert!(default.files.contains("usr/lib/libz.so.1"));
    assert!(default.files.contains("lib/ld-musl-x86_64.so.1"));
    assert!(default.unresolved.is_empty(), "{:?}", default.unresolved);
    let configured = LoaderConfig {
        musl_paths: BTreeMap::from([("x86_64".to_string(), vec!["/opt/z".to_string()])]),
        ..LoaderConfig::default()
    };
    let with_path = closure_of(root(), &["/bin/app"], &[], &configured, &[]);
    assert!(with_path.files.contains("opt/z/libz.so.1"));
    assert!(!with_path.files.contains("usr/lib/libz.so.1"));
    // libc.musl is not on /opt/z: only the loader itself provides it (as SONAME).
    assert_eq!(
        with_path.unresolved,
        set(&["libc.musl-x86_64.so.1 (needed by /bin/app)"])
    );
}

#[test]
fn ld_so_conf_follows_includes() {
    let view = MemFs::new()
        .with_file(
            "etc/ld.so.conf",
            "include /etc/ld.so.conf.d/*.conf\n/usr/local/lib # local\n",
        )
        .with_file("etc/ld.so.conf.d/b.conf", "/opt/b\n")
        .with_file(
            "etc/ld.so.conf.d/a.conf",
            "# x86_64 multiarch\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n",
        )
        .with_file("etc/ld.so.conf.d/skip.txt", "/never\n")
        .with_file("etc/ld.so.conf.d/loop.conf", "include loop.conf\n")
        .with_file("etc/ld-musl-x86_64.path", "/lib:/usr/lib\n/opt/lib\n");
    let config = LoaderConfig::read(&view);
    assert_eq!(
        config.ld_so_conf,
        vec![
            "/usr/local/lib/x86_64-linux-gnu",
            "/lib/x86_64-linux-gnu",
            "/opt/b",
            "/usr/local/lib"
        ]
    );
    assert_eq!(
        config.musl_paths.get("x86_64").unwrap(),
        &vec!["/lib", "/usr/lib", "/opt/lib"]
    );
}

fn pypi(name: &str, evidence: &str) -> Component {
    let mut c = Component::new(ComponentKind::Pypi, name, "1");
    c.evidence.push(evidence.into());
    c
}

#[test]
fn python_pulls_in_its_stdlib_extensions_and_packages() {
    let python = ElfInfo {
        interpreter: Some("/lib64/ld-linux-x86-64.so.2".into()),
        ..elf(&["libc.so.6"], None)
    };
    let root = layer(&[
        ("usr/bin/python3", Node::Link("python3.11")),
        ("usr/bin/python3.11", Node::Facts(0o755, python)),
        ("usr/lib/python3.11/os.py", Node::Text(0o644, "")),
        (
            "usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
            lib("_ssl", &["libssl.so.3"]),
        ),
        (
            "usr/lib/python3.11/lib-dynload/README.txt",
            Node::Text(0o644, "x"),
        ),
        (
            "usr/lib/x86_64-linux-gnu/libssl.so.3",
            lib("libssl.so.3", &["libc.so.6"]),
        ),
        ("usr/lib/x86_64-linux-gnu/libc.so.6", lib("libc.so.6", &[])),
        (
            "lib64/ld-linux-x86-64.so.2",
            lib("ld-linux-x86-64.so.2", &[]),
        ),
    ]);
    let components = vec![
        pypi(
            "requests",
            "usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA",
        ),
        pypi("six", "usr/lib/python3/dist-packages/six-1.16.0.egg-info"),
        pypi(
            "old",
            "opt/venv/lib/python3.9/site-packages/old-1.dist-info/METADATA",
        ),
    ];
    let c = closure_of(
        root,
        &["python3"],
        &[],
        &LoaderConfig::default(),
        &components,
    );
    for f in [
        "usr/bin/python3.11",
        "usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
        "usr/lib/x86_64-linux-gnu/libssl.so.3",
        "usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA",
        "usr/lib/python3/dist-packages/six-1.16.0.egg-info",
    ] {
        assert!(c.files.contains(f), "{f} missing from {:?}", c.files);
    }
    assert!(!c.files.iter().any(|f| f.contains("python3.9")));
    assert!(!c.files.iter().any(|f| f.ends_with("README.txt")));
}

#[test]
fn wildcards() {
    assert!(wildcard(b"*.conf", b"libc.conf"));
    assert!(wildcard(b"x?6*.conf", b"x86_64-linux-gnu.conf"));
    assert!(!wildcard(b"*.conf", b"libc.conf.bak"));
    assert!(wildcard(b"*", b""));
    let hostile = "*a".repeat(40) + "b";
    assert!(!wildcard(hostile.as_bytes(), "a".repeat(200).as_bytes()));
}

#[test]
fn runtimes_by_name() {
    assert_eq!(
        Runtime::named("python3.11"),
        Some(Runtime::Python(Some("3.11".into())))
    );
    assert_eq!(Runtime::named("python3"), Some(Runtime::Python(None)));
    assert_eq!(Runtime::named("python3-config"), None);
    assert_eq!(Runtime::named("node"), Some(Runtime::Node));
    assert_eq!(Runtime::named("ruby3.1"), Some(Runtime::Ruby));
    assert_eq!(Runtime::named("php-fpm8.2"), Some(Runtime::Php));
    assert_eq!(Runtime::named("rubocop"), None);
}

#[test]
fn marks_owners_and_evidence_matches() {
    let mut components = vec![
        Component::new(ComponentKind::Deb, "libc6", "2.36"),
        Component::new(ComponentKind::Deb, "unused", "1"),
        Component::new(ComponentKind::Golang, "stdlib", "1.22"),
    ];
    components[2].evidence.push("app/server".into());
    let files = set(&["usr/lib/x86_64-linux-gnu/libc.so.6", "app/server"]);
    let owner = |p: &str| (p == "usr/lib/x86_64-linux-gnu/libc.so.6").then_some(0);
    mark(&mut components, &files, &owner);
    let used: Vec<&str> = components
        .iter()
        .filter(|c| c.properties.get(PROP_USAGE).map(String::as_str) == Some("true"))
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(used, vec!["libc6", "stdlib"]);
}
