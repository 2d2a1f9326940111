//! The registry source against real registries: `ferro-oci-server` served
//! in-process, the CNCF distribution registry (`docker-registry`) as a child
//! process, and a fault-injecting proxy in front of the latter. All traffic
//! stays on 127.0.0.1.

mod support;

use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

use oci_client::secrets::RegistryAuth;
use stella_registry_store::{open_image, OpenOptions, ResolvedImage, SourceSpec, StoreError};
use support::distribution::Distribution;
use support::ferro::Ferro;
use support::proxy::{Fault, Proxy};
use support::{build_image, push_image, raw_request, Flavor, PlatformImage, TestImage};

const BIG: usize = 512 * 1024;

/// Puts fake-free but test-owned credential helpers on PATH, once, before
/// any test looks at the environment.
fn init() {
    static HELPERS: OnceLock<tempfile::TempDir> = OnceLock::new();
    HELPERS.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("helper dir");
        let write = |name: &str, script: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, script).expect("helper");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        };
        write(
            "docker-credential-stella-test",
            "#!/bin/sh\nread -r server\n[ \"$1\" = get ] || exit 1\n\
             printf '{\"ServerURL\":\"%s\",\"Username\":\"stella\",\"Secret\":\"hunter2\"}' \"$server\"\n",
        );
        write(
            "docker-credential-stella-broken",
            "#!/bin/sh\necho 'keychain is locked' >&2\nexit 3\n",
        );
        write(
            "docker-credential-stella-empty",
            "#!/bin/sh\necho 'credentials not found in native keychain'\nexit 1\n",
        );
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![dir.path().to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        std::env::set_var("PATH", std::env::join_paths(dirs).expect("PATH"));
        dir
    });
}

fn options(platform: &str, config_dir: &Path) -> OpenOptions {
    OpenOptions {
        platform: platform.parse().expect("platform"),
        insecure_registries: Vec::new(),
        docker_config_dir: Some(config_dir.to_path_buf()),
        ..OpenOptions::default()
    }
}

fn open(source: &str, opts: &OpenOptions) -> Result<ResolvedImage, StoreError> {
    let spec = SourceSpec::parse(source)?;
    assert!(matches!(spec, SourceSpec::Registry { .. }), "{spec:?}");
    open_image(&spec, opts, source)
}

fn read_layer(image: &ResolvedImage, index: usize) -> std::io::Result<Vec<u8>> {
    let mut reader = image
        .blobs
        .open_layer(&image.layers[index])
        .map_err(std::io::Error::other)?;
    let mut out = Vec::new();
    reader.read_to_end(&mut out)?;
    Ok(out)
}

/// Checks the resolved image against what was pushed, reading every layer
/// from its own thread at the same time.
fn assert_matches(image: &ResolvedImage, pushed: &PlatformImage, platform: &str) {
    assert_eq!(
        image.info.manifest_digest.as_ref(),
        Some(&pushed.manifest.digest)
    );
    assert_eq!(
        image.info.config_digest.as_ref(),
        Some(&pushed.config.digest)
    );
    assert_eq!(image.info.platform.as_deref(), Some(platform));
    assert_eq!(image.info.created.as_deref(), Some("2024-01-02T03:04:05Z"));
    assert_eq!(image.layers.len(), pushed.layers.len());
    for (i, (layer, blob)) in image.layers.iter().zip(&pushed.layers).enumerate() {
        assert_eq!(layer.index as usize, i);
        assert_eq!(layer.digest, blob.digest);
        assert_eq!(layer.media_type, blob.media_type);
        assert_eq!(layer.size, Some(blob.data.len() as u64));
        assert_eq!(layer.diff_id, pushed.diff_ids[i]);
    }
    let created_by: Vec<_> = image
        .layers
        .iter()
        .map(|l| l.created_by.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        created_by,
        [
            "ADD rootfs /",
            "COPY big.bin /usr/lib/",
            "COPY VERSION /app/"
        ]
    );
    let bodies: Vec<Vec<u8>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..image.layers.len())
            .map(|i| s.spawn(move || read_layer(image, i)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("reader thread").expect("layer reads back"))
            .collect()
    });
    for (body, blob) in bodies.iter().zip(&pushed.layers) {
        assert!(
            body == &blob.data,
            "layer {} differs from what was pushed",
            blob.digest
        );
    }
}

// ---------------------------------------------------------------- ferro

fn ferro_with_image() -> (Ferro, TestImage) {
    init();
    let ferro = Ferro::start();
    let image = build_image(&["linux/amd64", "linux/arm64/v8"], Flavor::Oci, BIG);
    push_image(
        &ferro.addr,
        "team/app",
        "multi",
        &image,
        &RegistryAuth::Anonymous,
    );
    (ferro, image)
}

#[test]
fn ferro_index_selects_each_platform_and_streams_exact_layers() {
    let (ferro, pushed) = ferro_with_image();
    let config = tempfile::tempdir().unwrap();
    for platform in ["linux/amd64", "linux/arm64/v8"] {
        let source = format!("registry:{}/team/app:multi", ferro.addr);
        let image = open(&source, &options(platform, config.path())).expect("opens");
        assert_eq!(image.info.source, source);
        assert_eq!(
            image.info.name.as_deref(),
            Some(format!("{}/team/app:multi", ferro.addr).as_str())
        );
        assert_matches(&image, pushed.for_platform(platform), platform);
        // The config came through verified and parsed.
        assert_eq!(
            image.config.rootfs.diff_ids,
            pushed.for_platform(platform).diff_ids
        );
    }
    // `linux/arm64` without a variant still finds `linux/arm64/v8`.
    let image = open(
        &format!("{}/team/app:multi", ferro.addr),
        &options("linux/arm64", config.path()),
    )
    .unwrap();
    assert_eq!(
        image.info.manifest_digest.as_ref(),
        Some(&pushed.for_platform("linux/arm64/v8").manifest.digest)
    );
}

#[test]
fn ferro_missing_platform_lists_the_available_ones() {
    let (ferro, _) = ferro_with_image();
    let config = tempfile::tempdir().unwrap();
    let err = open(
        &format!("registry:{}/team/app:multi", ferro.addr),
        &options("linux/s390x", config.path()),
    )
    .unwrap_err();
    eprintln!("{err}");
    match &err {
        StoreError::PlatformNotFound {
            wanted,
            available,
            location,
        } => {
            assert_eq!(wanted, "linux/s390x");
            assert_eq!(available, "linux/amd64, linux/arm64/v8");
            assert!(
                location.contains(&format!("{}/team/app", ferro.addr)),
                "{location}"
            );
        }
        other => panic!("expected PlatformNotFound, got {other}"),
    }
}

#[test]
fn ferro_digest_tag_and_missing_references() {
    let (ferro, pushed) = ferro_with_image();
    let config = tempfile::tempdir().unwrap();
    let opts = options("linux/amd64", config.path());
    let amd = pushed.for_platform("linux/amd64");

    // Bare reference by digest, straight to a platform manifest.
    let by_digest = format!("{}/team/app@{}", ferro.addr, amd.manifest.digest);
    let image = open(&by_digest, &opts).expect("by digest");
    assert_matches(&image, amd, "linux/amd64");

    // The index by digest, then a single-platform tag.
    let index = format!("registry:{}/team/app@{}", ferro.addr, pushed.index.digest);
    assert_eq!(
        open(&index, &opts).unwrap().info.manifest_digest.as_ref(),
        Some(&amd.manifest.digest)
    );
    let single = open(&format!("{}/team/app:multi-arm64", ferro.addr), &opts).unwrap();
    assert_eq!(
        single.info.platform.as_deref(),
        Some("linux/arm64/v8"),
        "a single manifest is taken as is"
    );

    let err = open(&format!("{}/team/app:nope", ferro.addr), &opts).unwrap_err();

    eprintln!("{err}");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("nope") && text.contains(&format!("{}/team/app", ferro.addr)),
        "{text}"
    );

    let absent = format!("{}/team/app@sha256:{}", ferro.addr, "ab".repeat(32));
    let err = open(&absent, &opts).unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");

    let err = open(&format!("{}/team/other:multi", ferro.addr), &opts).unwrap_err();

    eprintln!("{err}");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

// --------------------------------------------------------- distribution

#[test]
fn distribution_serves_docker_media_types_anonymously() {
    init();
    let registry = Distribution::start(None);
    let pushed = build_image(&["linux/amd64", "linux/arm/v7"], Flavor::Docker, BIG);
    push_image(
        &registry.addr,
        "library/busybox",
        "1.36",
        &pushed,
        &RegistryAuth::Anonymous,
    );
    let config = tempfile::tempdir().unwrap();
    for platform in ["linux/amd64", "linux/arm/v7"] {
        let image = open(
            &format!("{}/library/busybox:1.36", registry.addr),
            &options(platform, config.path()),
        )
        .unwrap_or_else(|e| panic!("{e}\nregistry log:\n{}", registry.log()));
        assert_matches(&image, pushed.for_platform(platform), platform);
    }
    let err = open(
        &format!("{}/library/busybox:1.36", registry.addr),
        &options("linux/arm/v6", config.path()),
    )
    .unwrap_err();
    eprintln!("{err}");
    assert!(
        err.to_string().contains("linux/amd64, linux/arm/v7"),
        "{err}"
    );
}

fn write_docker_config(dir: &Path, json: &str) {
    std::fs::write(dir.join("config.json"), json).expect("config.json");
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

#[test]
fn distribution_basic_auth_from_docker_config() {
    init();
    let registry = Distribution::start(Some(("stella", "hunter2")));
    let pushed = build_image(&["linux/amd64"], Flavor::Oci, 64 * 1024);
    push_image(
        &registry.addr,
        "team/secure",
        "v1",
        &pushed,
        &RegistryAuth::Basic("stella".into(), "hunter2".into()),
    );
    let source = format!("registry:{}/team/secure:v1", registry.addr);
    let amd = pushed.for_platform("linux/amd64");

    // `auths` with base64 user:pass, keyed the way `docker login` writes it.
    let good = tempfile::tempdir().unwrap();
    write_docker_config(
        good.path(),
        &format!(
            r#"{{"auths":{{"http://{}":{{"auth":"{}"}}}}}}"#,
            registry.addr,
            basic("stella", "hunter2")
        ),
    );
    let image = open(&source, &options("linux/amd64", good.path()))
        .unwrap_or_else(|e| panic!("{e}\nregistry log:\n{}", registry.log()));
    assert_matches(&image, amd, "linux/amd64");

    // A wrong password is an authentication failure naming registry/repo.
    let bad = tempfile::tempdir().unwrap();
    write_docker_config(
        bad.path(),
        &format!(
            r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
            registry.addr,
            basic("stella", "wrong")
        ),
    );
    let err = open(&source, &options("linux/amd64", bad.path())).unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::AuthFailed { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "authentication failed for {}/team/secure:",
            registry.addr
        )),
        "{text}"
    );
    assert!(
        text.contains("rejected") && text.contains("config.json"),
        "{text}"
    );

    // No credentials at all.
    let none = tempfile::tempdir().unwrap();
    let err = open(&source, &options("linux/amd64", none.path())).unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::AuthFailed { .. }), "{err}");
    assert!(err.to_string().contains("anonymous"), "{err}");

    // A credential helper for this registry.
    let helper = tempfile::tempdir().unwrap();
    write_docker_config(
        helper.path(),
        &format!(
            r#"{{"credHelpers":{{"{}":"stella-test"}},"auths":{{}}}}"#,
            registry.addr
        ),
    );
    let image = open(&source, &options("linux/amd64", helper.path())).expect("helper credentials");
    assert_eq!(read_layer(&image, 2).unwrap(), amd.layers[2].data);

    // credsStore that fails: the error names the helper, no silent anonymous retry.
    let broken = tempfile::tempdir().unwrap();
    write_docker_config(broken.path(), r#"{"credsStore":"stella-broken"}"#);
    let err = open(&source, &options("linux/amd64", broken.path()))
        .unwrap_err()
        .to_string();
    eprintln!("{err}");
    assert!(
        err.contains("docker-credential-stella-broken") && err.contains("keychain is locked"),
        "{err}"
    );

    // credsStore that knows nothing of the registry falls back to `auths`.
    let empty = tempfile::tempdir().unwrap();
    write_docker_config(
        empty.path(),
        &format!(
            r#"{{"credsStore":"stella-empty","auths":{{"{}":{{"auth":"{}"}}}}}}"#,
            registry.addr,
            basic("stella", "hunter2")
        ),
    );
    open(&source, &options("linux/amd64", empty.path())).expect("auths after an empty store");

    // A helper that is not installed.
    let missing = tempfile::tempdir().unwrap();
    write_docker_config(missing.path(), r#"{"credsStore":"stella-not-installed"}"#);
    let err = open(&source, &options("linux/amd64", missing.path()))
        .unwrap_err()
        .to_string();
    eprintln!("{err}");
    assert!(
        err.contains("docker-credential-stella-not-installed") && err.contains("not found"),
        "{err}"
    );
}

#[test]
fn distribution_manifest_pointing_to_a_missing_blob() {
    init();
    let registry = Distribution::start(None);
    let pushed = build_image(&["linux/amd64"], Flavor::Oci, 64 * 1024);
    push_image(
        &registry.addr,
        "team/holes",
        "v1",
        &pushed,
        &RegistryAuth::Anonymous,
    );
    let amd = pushed.for_platform("linux/amd64");
    let gone = &amd.layers[1].digest;
    let deleted = raw_request(
        &registry.addr,
        "DELETE",
        &format!("/v2/team/holes/blobs/{gone}"),
        &[],
    )
    .unwrap();
    assert_eq!(
        deleted.status,
        202,
        "blob delete: {}",
        String::from_utf8_lossy(&deleted.body)
    );

    let config = tempfile::tempdir().unwrap();
    let image = open(
        &format!("{}/team/holes:v1", registry.addr),
        &options("linux/amd64", config.path()),
    )
    .unwrap();
    assert_eq!(read_layer(&image, 0).unwrap(), amd.layers[0].data);
    let err = image
        .blobs
        .open_layer(&image.layers[1])
        .err()
        .expect("missing blob is an error");
    eprintln!("{err}");
    match &err {
        StoreError::BlobNotFound { digest, location } => {
            assert_eq!(digest, gone);
            assert!(
                location.contains(&format!("{}/team/holes", registry.addr)),
                "{location}"
            );
        }
        other => panic!("expected BlobNotFound, got {other}"),
    }

    // The config gone: opening fails, naming it.
    let config_digest = &amd.config.digest;
    raw_request(
        &registry.addr,
        "DELETE",
        &format!("/v2/team/holes/blobs/{config_digest}"),
        &[],
    )
    .unwrap();
    let err = open(
        &format!("{}/team/holes:v1", registry.addr),
        &options("linux/amd64", config.path()),
    )
    .unwrap_err();
    eprintln!("{err}");
    assert!(
        err.to_string().contains(&config_digest.to_string()),
        "{err}"
    );
}

// ----------------------------------------------------- lying registries

#[test]
fn lying_registry_is_never_believed() {
    init();
    let registry = Distribution::start(None);
    let pushed = build_image(&["linux/amd64", "linux/arm64/v8"], Flavor::Oci, 256 * 1024);
    push_image(
        &registry.addr,
        "team/app",
        "v1",
        &pushed,
        &RegistryAuth::Anonymous,
    );
    let other = build_image(&["linux/amd64"], Flavor::Oci, 1024);
    push_image(
        &registry.addr,
        "team/app",
        "other",
        &other,
        &RegistryAuth::Anonymous,
    );
    let proxy = Proxy::start(&registry.addr);
    let config = tempfile::tempdir().unwrap();
    let opts = options("linux/amd64", config.path());
    let amd = pushed.for_platform("linux/amd64");
    let source = format!("registry:{}/team/app:v1", proxy.addr);

    // Through the honest proxy, everything checks out.
    let image = open(&source, &opts).unwrap_or_else(|e| panic!("{e}\n{}", registry.log()));
    assert_matches(&image, amd, "linux/amd64");

    // Wrong bytes for a layer: the read fails at the end, naming the digest.
    let layer = &amd.layers[1].digest;
    proxy.inject(&format!("/blobs/{layer}"), Fault::CorruptBody);
    let err = read_layer(&image, 1).expect_err("corrupt layer must not read back");
    eprintln!("{err}");
    assert!(err.to_string().contains(&layer.to_string()), "{err}");
    assert_eq!(
        read_layer(&image, 0).unwrap(),
        amd.layers[0].data,
        "other layers unaffected"
    );
    proxy.clear();

    // A body cut short.
    proxy.inject(&format!("/blobs/{layer}"), Fault::TruncateBody);
    let err = read_layer(&image, 1).expect_err("truncated layer must not read back");
    eprintln!("{err}");
    assert!(err.to_string().contains(&layer.to_string()), "{err}");
    proxy.clear();

    // A wrong config.
    let config_digest = &amd.config.digest;
    proxy.inject(&format!("/blobs/{config_digest}"), Fault::CorruptBody);
    let err = open(&source, &opts).unwrap_err();
    eprintln!("{err}");
    assert!(
        err.to_string().contains(&config_digest.to_string()),
        "{err}"
    );
    proxy.clear();

    // The tag's manifest swapped for another one, Docker-Content-Digest left as it was.
    let swapped = other.for_platform("linux/amd64").manifest.data.clone();
    proxy.inject("/manifests/v1", Fault::ReplaceBody(swapped.clone()));
    let err = open(&source, &opts).unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains(&pushed.index.digest.to_string()),
        "{err}"
    );
    proxy.clear();

    // Asked by digest, served other bytes with a digest header to match them.
    proxy.inject(
        &format!("/manifests/{}", pushed.index.digest),
        Fault::ReplaceBodyAndDigest(swapped),
    );
    let by_digest = format!("{}/team/app@{}", proxy.addr, pushed.index.digest);
    let err = open(&by_digest, &opts).unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains(&pushed.index.digest.to_string()),
        "{err}"
    );
    proxy.clear();

    // A platform manifest from the index, corrupted.
    proxy.inject(
        &format!("/manifests/{}", amd.manifest.digest),
        Fault::CorruptBody,
    );
    let err = open(&source, &opts).unwrap_err();
    eprintln!("{err}");
    assert!(
        err.to_string().contains(&amd.manifest.digest.to_string()),
        "{err}"
    );
    proxy.clear();

    // A manifest over the size limit (served with a matching digest header).
    let mut huge = b"{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"pad\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 5 * 1024 * 1024));
    huge.extend_from_slice(b"\"}}");
    proxy.inject("/manifests/v1", Fault::ReplaceBodyAndDigest(huge));
    let err = open(&source, &opts).unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::TooLarge { .. }), "{err}");
    proxy.clear();

    // Honest again: the image opens once more (the proxy kept no state).
    open(&source, &opts).expect("honest proxy");
}

#[test]
fn localhost_is_spoken_to_over_plain_http() {
    init();
    let ferro = Ferro::start();
    let pushed = build_image(&["linux/amd64"], Flavor::Oci, 1024);
    push_image(
        &ferro.addr,
        "team/app",
        "v1",
        &pushed,
        &RegistryAuth::Anonymous,
    );
    let config = tempfile::tempdir().unwrap();
    let port = ferro.addr.rsplit_once(':').map(|(_, p)| p).unwrap();
    let image = open(
        &format!("localhost:{port}/team/app:v1"),
        &options("linux/amd64", config.path()),
    )
    .expect("localhost is loopback, so plain HTTP");
    assert_eq!(
        image.info.manifest_digest.as_ref(),
        Some(&pushed.images[0].manifest.digest)
    );
}
