//! containerd content store source (`containerd:REF`): images straight from
//! the content store of a running containerd (or of dockerd's managed
//! containerd, whose image store lives in namespace `moby`), over
//! containerd's gRPC socket.
//!
//! Why it looks like this: the gRPC bindings (`containerd-client`, tonic
//! and prost) need `protoc` to build, so they sit behind the `containerd`
//! cargo feature; without it `containerd:REF` still parses and opening it
//! says which feature is missing. What does not need the bindings (socket
//! addresses, namespace names, the names an image may be stored under) is
//! here and always built, so it is always tested.
//!
//! Trust: containerd is a local daemon, but its content is no more trusted
//! than a registry's: the root manifest is checked against the image
//! record's digest and size, children by [`crate::image::resolve_chain`],
//! layers by [`crate::VerifyingReader`] while they stream.

#![cfg_attr(not(feature = "containerd"), allow(dead_code))]

#[cfg(feature = "containerd")]
mod grpc;

use std::path::PathBuf;

use stella_model::Digest;

use crate::image::{OpenOptions, ResolvedImage};
use crate::StoreError;

/// containerd's identifier rule (namespaces, and the length it allows).
const MAX_NAMESPACE_LEN: usize = 76;

/// Opens `containerd:REF` with the address and namespace in `opts`.
pub(crate) fn open_containerd(
    reference: &str,
    opts: &OpenOptions,
) -> Result<ResolvedImage, StoreError> {
    #[cfg(feature = "containerd")]
    {
        let lookup = Lookup::parse(reference)?;
        let socket = socket_path(&opts.containerd_address)?;
        check_namespace(&opts.containerd_namespace)?;
        grpc::open(reference, lookup, socket, opts)
    }
    #[cfg(not(feature = "containerd"))]
    {
        let _ = opts;
        Err(StoreError::FeatureMissing {
            feature: "containerd",
            what: format!("containerd:{reference}"),
        })
    }
}

/// The socket path of a containerd address: a path, or `unix://PATH`
/// (containerd's own spelling). Other transports are refused.
pub(crate) fn socket_path(address: &str) -> Result<PathBuf, StoreError> {
    let bad = |reason: &str| StoreError::BadSource {
        input: address.to_string(),
        reason: reason.to_string(),
    };
    let address = address.trim();
    let path = match address.split_once("://") {
        Some(("unix", path)) => path,
        Some(_) => {
            return Err(bad(
                "containerd addresses are unix sockets: PATH or unix://PATH",
            ))
        }
        None => address,
    };
    if path.is_empty() {
        return Err(bad("no containerd socket path"));
    }
    Ok(PathBuf::from(path))
}

/// containerd namespaces are identifiers: alphanumeric runs joined by
/// single `.`, `_` or `-`, at most 76 characters. Checked here so a bad
/// name is a clear error, not an invalid gRPC header.
pub(crate) fn check_namespace(namespace: &str) -> Result<(), StoreError> {
    let valid = !namespace.is_empty()
        && namespace.len() <= MAX_NAMESPACE_LEN
        && namespace
            .split(['.', '_', '-'])
            .all(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_alphanumeric()));
    if valid {
        Ok(())
    } else {
        Err(StoreError::BadSource {
            input: namespace.to_string(),
            reason: format!(
                "not a containerd namespace (letters and digits, joined by single \
                 '.', '_' or '-'; at most {MAX_NAMESPACE_LEN} characters)"
            ),
        })
    }
}

/// How REF finds an image record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Image names to try in order: REF exactly as given, then the name
    /// containerd and docker store it under (`alpine` →
    /// `docker.io/library/alpine:latest`).
    Names(Vec<String>),
    /// A bare `sha256:…`: the image whose target is that manifest or index
    /// (with docker's containerd store, that is also docker's image ID).
    Target(Digest),
}

impl Lookup {
    pub(crate) fn parse(reference: &str) -> Result<Lookup, StoreError> {
        if reference.trim().is_empty() {
            return Err(StoreError::BadSource {
                input: format!("containerd:{reference}"),
                reason: "no image reference".into(),
            });
        }
        if reference.starts_with("sha256:") || reference.starts_with("sha512:") {
            return reference
                .parse::<Digest>()
                .map(Lookup::Target)
                .map_err(|e| StoreError::BadSource {
                    input: format!("containerd:{reference}"),
                    reason: format!("{e}"),
                });
        }
        let mut names = vec![reference.to_string()];
        if let Ok(parsed) = crate::reference::parse(reference) {
            names.push(parsed.whole());
            // docker names an image pulled by `name:tag@digest` by the digest alone.
            if let (Some(_), Some(digest)) = (parsed.tag(), parsed.digest()) {
                names.push(format!(
                    "{}/{}@{digest}",
                    parsed.registry(),
                    parsed.repository()
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        names.retain(|n| seen.insert(n.clone()));
        Ok(Lookup::Names(names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(reference: &str) -> Vec<String> {
        match Lookup::parse(reference).unwrap() {
            Lookup::Names(n) => n,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn short_names_normalize_like_docker() {
        assert_eq!(
            names("alpine"),
            ["alpine", "docker.io/library/alpine:latest"]
        );
        assert_eq!(names("team/app:1"), ["team/app:1", "docker.io/team/app:1"]);
        assert_eq!(
            names("127.0.0.1:5000/base:bookworm"),
            ["127.0.0.1:5000/base:bookworm"]
        );
        assert_eq!(
            names("localhost:5000/x"),
            ["localhost:5000/x", "localhost:5000/x:latest"]
        );
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            names(&format!("alpine:3@{d}")),
            [
                format!("alpine:3@{d}"),
                format!("docker.io/library/alpine:3@{d}"),
                format!("docker.io/library/alpine@{d}"),
            ]
        );
        // Names containerd accepts but registries do not are tried as given.
        assert_eq!(names("My Image"), ["My Image"]);
    }

    #[test]
    fn bare_digests_look_up_targets() {
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            Lookup::parse(d).unwrap(),
            Lookup::Target(d.parse().unwrap())
        );
        assert!(matches!(
            Lookup::parse("sha256:abc"),
            Err(StoreError::BadSource { .. })
        ));
        assert!(Lookup::parse(" ").is_err());
    }

    #[test]
    fn socket_addresses() {
        assert_eq!(
            socket_path("/run/containerd/containerd.sock").unwrap(),
            PathBuf::from("/run/containerd/containerd.sock")
        );
        assert_eq!(
            socket_path("unix:///var/run/docker/containerd/containerd.sock").unwrap(),
            PathBuf::from("/var/run/docker/containerd/containerd.sock")
        );
        for bad in ["", "unix://", "tcp://127.0.0.1:1234"] {
            assert!(
                matches!(socket_path(bad), Err(StoreError::BadSource { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn namespaces() {
        for ok in ["default", "moby", "k8s.io", "a-b_c.d", "x1"] {
            check_namespace(ok).unwrap();
        }
        let long = "a".repeat(77);
        for bad in ["", "-a", "a-", "a..b", "a/b", "ns\n", "名前", long.as_str()] {
            assert!(
                matches!(check_namespace(bad), Err(StoreError::BadSource { .. })),
                "{bad:?}"
            );
        }
    }

    #[cfg(not(feature = "containerd"))]
    #[test]
    fn without_the_feature_opening_says_so() {
        let err = open_containerd("alpine", &OpenOptions::default()).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::FeatureMissing {
                    feature: "containerd",
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("`containerd` cargo feature"),
            "{err}"
        );
    }
}
