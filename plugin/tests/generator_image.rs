//! The generator image, checked against independent oracles: `ldd` (the
//! host's own dynamic loader) for the runtime closure, `skopeo` and `umoci`
//! for the layout and manifest, GNU tar and gzip for the layer, and the
//! real distribution registry for the push.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest as _, Sha256};
use stella_plugin::generator_image::runtime_deps::{resolve, HostRoot};
use stella_plugin::generator_image::{GeneratorImage, ImageError, ImageInputs};
use stella_registry_store::{ArtifactStore, ManifestRef, OciLayoutStore, RegistryStore};
use stella_testkit::distribution::Distribution;

/// A dynamically linked program every Debian system has (coreutils is
/// essential) with a non-trivial closure (libselinux → libpcre2).
const HOST_PROGRAM: &str = "/usr/bin/ls";

fn inputs(binary: &Path, epoch: Option<u64>) -> ImageInputs {
    ImageInputs {
        binary: binary.to_path_buf(),
        version: "9.9.9-test".into(),
        source_date_epoch: epoch,
        strict: false,
        layer_files: true,
    }
}

fn sha256_file(path: &Path) -> String {
    hex::encode(Sha256::digest(fs::read(path).unwrap()))
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ldd`'s answer: image path (as the loader names it) → host file, the
/// interpreter included, the vDSO left out.
fn ldd(program: &str) -> BTreeMap<String, PathBuf> {
    let text = run(Command::new("ldd").arg(program));
    let mut out = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        let path = match line.split_once(" => ") {
            Some((_, rest)) => rest.split(" (").next().unwrap_or_default(),
            None => line.split(" (").next().unwrap_or_default(),
        };
        if path.starts_with('/') {
            out.insert(
                path.to_string(),
                fs::canonicalize(path).expect("ldd names an existing file"),
            );
        }
    }
    out
}

#[test]
fn runtime_closure_is_what_the_dynamic_loader_loads() {
    for program in [HOST_PROGRAM, "/usr/bin/tar"] {
        let closure = resolve(Path::new(program), &HostRoot::default()).unwrap();
        let ours: BTreeMap<String, PathBuf> = closure
            .files
            .iter()
            .map(|f| (f.image_path.clone(), f.host_path.clone()))
            .collect();
        let oracle = ldd(program);
        // Same host files; the image paths may name another directory of
        // the same merged /usr, so compare the files, then the names.
        let our_files: Vec<&PathBuf> = {
            let mut v: Vec<_> = ours.values().collect();
            v.sort();
            v
        };
        let oracle_files: Vec<&PathBuf> = {
            let mut v: Vec<_> = oracle.values().collect();
            v.sort();
            v
        };
        assert_eq!(
            our_files, oracle_files,
            "{program}: {ours:#?} vs ldd {oracle:#?}"
        );
        let base = |p: &String| p.rsplit('/').next().unwrap_or_default().to_string();
        let mut our_names: Vec<String> = ours.keys().map(base).collect();
        let mut oracle_names: Vec<String> = oracle.keys().map(base).collect();
        our_names.sort();
        oracle_names.sort();
        assert_eq!(our_names, oracle_names);
        // The interpreter sits exactly where PT_INTERP says.
        let interp = closure.program.interpreter.clone().expect("dynamic");
        assert!(ours.contains_key(&interp), "{interp} missing");
        assert!(oracle.contains_key(&interp), "ldd names {interp}");
    }
}

#[test]
fn not_a_program_is_a_typed_error() {
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("script.sh");
    fs::write(&text, "#!/bin/sh\necho hi\n").unwrap();
    let err = GeneratorImage::build(&inputs(&text, None)).unwrap_err();
    assert!(matches!(err, ImageError::NotAProgram { .. }), "{err}");
    let missing = tmp.path().join("nope");
    let err = GeneratorImage::build(&inputs(&missing, None)).unwrap_err();
    assert!(matches!(err, ImageError::Io { .. }), "{err}");
}

#[test]
fn same_inputs_same_digest_from_any_directory() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let copy_a = a.path().join("stella");
    let copy_b = b.path().join("sub/dir/other-name");
    fs::create_dir_all(copy_b.parent().unwrap()).unwrap();
    fs::copy(HOST_PROGRAM, &copy_a).unwrap();
    fs::copy(HOST_PROGRAM, &copy_b).unwrap();
    // Different mtimes and modes on the inputs must not matter either.
    fs::set_permissions(&copy_b, fs::Permissions::from_mode(0o700)).unwrap();

    let one = GeneratorImage::build(&inputs(&copy_a, None)).unwrap();
    let two = GeneratorImage::build(&inputs(&copy_b, None)).unwrap();
    let again = GeneratorImage::build(&inputs(&copy_a, None)).unwrap();
    assert_eq!(one.manifest_digest, two.manifest_digest);
    assert_eq!(one.manifest_digest, again.manifest_digest);
    assert_eq!(one.layer, two.layer);

    // SOURCE_DATE_EPOCH is the one time: another gives another image,
    // reproducibly.
    let dated = GeneratorImage::build(&inputs(&copy_a, Some(1_700_000_000))).unwrap();
    let dated_again = GeneratorImage::build(&inputs(&copy_b, Some(1_700_000_000))).unwrap();
    assert_ne!(dated.manifest_digest, one.manifest_digest);
    assert_eq!(dated.manifest_digest, dated_again.manifest_digest);
    let config: serde_json::Value = serde_json::from_slice(&dated.config).unwrap();
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
    let config: serde_json::Value = serde_json::from_slice(&one.config).unwrap();
    assert_eq!(config["created"], "1970-01-01T00:00:00Z");
}

/// The layer as GNU tar lists it: `(mode string, owner, mtime, path)`.
fn tar_listing(layer_gz: &Path) -> Vec<(String, String, String, String)> {
    let text = run(Command::new("tar")
        .args(["--numeric-owner", "--full-time", "-tvzf"])
        .arg(layer_gz)
        .env("TZ", "UTC"));
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[0].to_string(),
                f[1].to_string(),
                format!("{} {}", f[3], f[4]),
                f[5].to_string(),
            )
        })
        .collect()
}

#[test]
fn layout_is_valid_for_skopeo_and_umoci() {
    let tmp = tempfile::tempdir().unwrap();
    let image = GeneratorImage::build(&inputs(Path::new(HOST_PROGRAM), Some(86_400))).unwrap();
    let layout = tmp.path().join("layout");
    let store = OciLayoutStore::open_or_create(&layout).unwrap();
    let pushed = image.push(&store, Some("gen")).unwrap();
    assert_eq!(pushed.digest, image.manifest_digest);

    // skopeo reads back the exact manifest bytes and our config.
    let reference = format!("oci:{}:gen", layout.display());
    let raw = Command::new("skopeo")
        .args(["inspect", "--raw", &reference])
        .output()
        .expect("skopeo (apt-get install skopeo)");
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    assert_eq!(raw.stdout, image.manifest);
    let config: serde_json::Value = serde_json::from_str(&run(
        Command::new("skopeo").args(["inspect", "--config", &reference])
    ))
    .unwrap();
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/usr/local/bin/stella"])
    );
    assert!(config["config"].get("Cmd").is_none());
    assert_eq!(config["config"]["User"], "0:0");
    assert_eq!(config["config"]["WorkingDir"], "/");
    assert_eq!(
        config["config"]["Env"],
        serde_json::json!(["PATH=/usr/local/bin"])
    );
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.version"],
        "9.9.9-test"
    );
    assert_eq!(config["created"], "1970-01-02T00:00:00Z");
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["os"], "linux");

    // skopeo copies it out (verifying every digest); GNU tar and gzip read
    // the layer it wrote.
    let copied = tmp.path().join("copied");
    run(Command::new("skopeo").args(["copy", &reference, &format!("dir:{}", copied.display())]));
    let manifest: serde_json::Value = serde_json::from_slice(&image.manifest).unwrap();
    let layer_hex = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let layer_file = copied.join(&layer_hex);
    assert_eq!(sha256_file(&layer_file), layer_hex);
    // gzip header: no mtime (bytes 4..8), no file name flag.
    let gz = fs::read(&layer_file).unwrap();
    assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0]);
    assert_eq!(&gz[4..8], &[0, 0, 0, 0]);
    run(Command::new("gzip").arg("-t").arg(&layer_file));

    let listing = tar_listing(&layer_file);
    let paths: Vec<&str> = listing.iter().map(|e| e.3.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort_by(|a, b| {
        a.trim_end_matches('/')
            .split('/')
            .cmp(b.trim_end_matches('/').split('/'))
    });
    assert_eq!(paths, sorted, "entries are sorted");
    for (mode, owner, mtime, path) in &listing {
        assert_eq!(owner, "0/0", "{path}");
        assert_eq!(mtime, "1970-01-02 00:00:00", "{path}");
        let expected = match path.as_str() {
            "tmp/" => "drwxrwxrwt",
            p if p.ends_with('/') => "drwxr-xr-x",
            "usr/local/bin/stella" | "lib64/ld-linux-x86-64.so.2" => "-rwxr-xr-x",
            _ => "-rw-r--r--",
        };
        assert_eq!(mode, expected, "{path}");
    }
    assert!(paths.contains(&"usr/local/bin/stella"));
    assert!(paths.contains(&"lib64/ld-linux-x86-64.so.2"), "{paths:?}");

    let extracted = tmp.path().join("rootfs");
    fs::create_dir(&extracted).unwrap();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&layer_file)
        .arg("-C")
        .arg(&extracted));
    assert_eq!(
        sha256_file(&extracted.join("usr/local/bin/stella")),
        sha256_file(Path::new(HOST_PROGRAM))
    );
    // Every library ldd names is in the rootfs with the host file's bytes.
    for (image_path, host_file) in ldd(HOST_PROGRAM) {
        let name = image_path.rsplit('/').next().unwrap();
        let found = image
            .files
            .iter()
            .find(|f| f.path.ends_with(&format!("/{name}")))
            .unwrap_or_else(|| panic!("{name} not in the image"));
        assert_eq!(
            sha256_file(&extracted.join(found.path.trim_start_matches('/'))),
            sha256_file(&host_file),
            "{name}"
        );
    }

    // umoci checks the layout, manifest, config and diff IDs while unpacking.
    let bundle = tmp.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:gen", layout.display()))
        .arg(&bundle));
    assert_eq!(
        sha256_file(&bundle.join("rootfs/usr/local/bin/stella")),
        sha256_file(Path::new(HOST_PROGRAM))
    );
    let tmp_mode = fs::metadata(bundle.join("rootfs/tmp"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(tmp_mode & 0o7777, 0o1777);
}

#[test]
fn pushes_to_a_real_registry() {
    let registry = Distribution::start(None);
    let image = GeneratorImage::build(&inputs(Path::new(HOST_PROGRAM), None)).unwrap();
    let reference = format!("{}/stella-generator:test", registry.addr);
    let (store, _) = RegistryStore::open_reference(&reference, &Default::default()).unwrap();
    let pushed = image.push(&store, Some("test")).unwrap();
    assert_eq!(pushed.digest, image.manifest_digest);
    // Pushing again is a no-op that gives the same digest.
    assert_eq!(
        image.push(&store, Some("test")).unwrap().digest,
        pushed.digest
    );
    assert_eq!(
        store
            .resolve(&ManifestRef::tag("test").unwrap())
            .unwrap()
            .digest,
        image.manifest_digest
    );
    let raw = run(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{reference}"),
    ]));
    assert_eq!(raw.as_bytes(), image.manifest.as_slice());
    let digest = run(Command::new("skopeo").args([
        "inspect",
        "--format",
        "{{.Digest}}",
        "--tls-verify=false",
        &format!("docker://{reference}"),
    ]));
    assert_eq!(digest.trim(), image.manifest_digest.to_string());
}

/// A program built with `-C target-feature=+crt-static` (what a static
/// stella would be): no interpreter, no libraries, just the binary.
#[test]
fn static_binary_needs_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("hello.rs");
    fs::write(&source, "fn main() { println!(\"hello\"); }\n").unwrap();
    let binary = tmp.path().join("hello");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    run(Command::new(rustc)
        .args(["-C", "target-feature=+crt-static", "-o"])
        .arg(&binary)
        .arg(&source));
    // The oracle agrees it is static.
    let ldd = Command::new("ldd").arg(&binary).output().unwrap();
    assert!(
        String::from_utf8_lossy(&ldd.stdout).contains("statically linked")
            || String::from_utf8_lossy(&ldd.stderr).contains("not a dynamic executable"),
        "{ldd:?}"
    );
    let closure = resolve(&binary, &HostRoot::default()).unwrap();
    assert!(closure.program.interpreter.is_none());
    assert!(closure.files.is_empty(), "{:?}", closure.files);
    let image = GeneratorImage::build(&inputs(&binary, None)).unwrap();
    let paths: Vec<&str> = image.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["/usr/local/bin/stella"]);
}

/// A library found only through `/etc/ld.so.conf` (an `include`d file) is
/// placed in the loader's default directory: the image has no
/// `ld.so.cache`, so ld.so would not look in `/opt/lib` there.
#[test]
fn ld_so_conf_directories_are_searched_and_flattened() {
    let root = tempfile::tempdir().unwrap();
    let put = |host: &str, at: &str| {
        let dest = root.path().join(at.trim_start_matches('/'));
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(fs::canonicalize(host).unwrap(), dest).unwrap();
    };
    let oracle = ldd(HOST_PROGRAM);
    put(HOST_PROGRAM, "/usr/bin/ls");
    for image_path in oracle.keys() {
        let name = image_path.rsplit('/').next().unwrap();
        match name {
            "libselinux.so.1" => put(image_path, "/opt/lib/libselinux.so.1"),
            n if n.starts_with("ld-linux") => put(image_path, image_path),
            n => put(image_path, &format!("/lib/x86_64-linux-gnu/{n}")),
        }
    }
    let conf = root.path().join("etc/ld.so.conf.d");
    fs::create_dir_all(&conf).unwrap();
    fs::write(
        root.path().join("etc/ld.so.conf"),
        "# comment\ninclude /etc/ld.so.conf.d/*.conf\n",
    )
    .unwrap();
    fs::write(conf.join("opt.conf"), "/opt/lib\n").unwrap();
    let host = HostRoot {
        root: root.path().to_path_buf(),
    };
    let closure = resolve(&root.path().join("usr/bin/ls"), &host).unwrap();
    let selinux = closure
        .files
        .iter()
        .find(|f| f.image_path.ends_with("/libselinux.so.1"))
        .expect("libselinux resolved");
    assert_eq!(selinux.image_path, "/lib/x86_64-linux-gnu/libselinux.so.1");
    assert_eq!(
        selinux.host_path,
        fs::canonicalize(root.path().join("opt/lib/libselinux.so.1")).unwrap()
    );
    // Without the ld.so.conf include it is not found, and the error says what.
    fs::remove_file(conf.join("opt.conf")).unwrap();
    let err = resolve(&root.path().join("usr/bin/ls"), &host).unwrap_err();
    assert!(
        matches!(&err, ImageError::MissingDependency { name, .. } if name == "libselinux.so.1"),
        "{err}"
    );
}
