//! Parsing of image source strings, in syft's vocabulary so users keep their habits.

use std::path::{Path, PathBuf};

use stella_model::Digest;

use crate::StoreError;

/// Which manifest of an OCI layout to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutSelector {
    /// The only manifest in `index.json` (an error when there are several).
    Only,
    /// The manifest annotated `org.opencontainers.image.ref.name=TAG`.
    Tag(String),
    Digest(Digest),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// `oci-dir:PATH[:TAG|@DIGEST]` — an OCI image layout directory.
    OciDir {
        path: PathBuf,
        selector: LayoutSelector,
    },
    /// `oci-archive:PATH[:TAG|@DIGEST]` — an OCI layout in a (plain) tar.
    OciArchive {
        path: PathBuf,
        selector: LayoutSelector,
    },
    /// `docker-archive:PATH` — the output of `docker save`.
    DockerArchive { path: PathBuf },
    /// `registry:REF` or a bare `REF` — an image in an OCI registry.
    Registry { reference: String },
    /// `containerd:REF` — an image in a containerd content store, read over
    /// containerd's gRPC socket (needs the `containerd` cargo feature).
    Containerd { reference: String },
    /// `dir:PATH` — a root filesystem on disk.
    Dir { path: PathBuf },
}

impl SourceSpec {
    pub fn parse(input: &str) -> Result<SourceSpec, StoreError> {
        let bad = |reason: &str| StoreError::BadSource {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let (scheme, rest) = match input.split_once(':') {
            Some((s, r))
                if matches!(
                    s,
                    "oci-dir"
                        | "oci-archive"
                        | "docker-archive"
                        | "registry"
                        | "containerd"
                        | "dir"
                ) =>
            {
                (s, r)
            }
            _ => ("registry", input),
        };
        if rest.is_empty() {
            return Err(bad("nothing after the scheme"));
        }
        Ok(match scheme {
            "oci-dir" => {
                let (path, selector) = split_layout_selector(rest, input)?;
                SourceSpec::OciDir { path, selector }
            }
            "oci-archive" => {
                let (path, selector) = split_layout_selector(rest, input)?;
                SourceSpec::OciArchive { path, selector }
            }
            "docker-archive" => SourceSpec::DockerArchive {
                path: PathBuf::from(rest),
            },
            "containerd" => SourceSpec::Containerd {
                reference: rest.to_string(),
            },
            "dir" => SourceSpec::Dir {
                path: PathBuf::from(rest),
            },
            _ => SourceSpec::Registry {
                reference: rest.to_string(),
            },
        })
    }
}

/// Splits `PATH[:TAG|@DIGEST]`. A `:` only starts a tag when what follows has
/// no `/` and the path without it exists (paths may contain colons).
fn split_layout_selector(rest: &str, input: &str) -> Result<(PathBuf, LayoutSelector), StoreError> {
    if let Some((path, digest)) = rest.rsplit_once('@') {
        let digest: Digest = digest.parse().map_err(|e| StoreError::BadSource {
            input: input.to_string(),
            reason: format!("{e}"),
        })?;
        return Ok((PathBuf::from(path), LayoutSelector::Digest(digest)));
    }
    if let Some((path, tag)) = rest.rsplit_once(':') {
        if !tag.contains('/') && !Path::new(rest).exists() && Path::new(path).exists() {
            return Ok((PathBuf::from(path), LayoutSelector::Tag(tag.to_string())));
        }
    }
    Ok((PathBuf::from(rest), LayoutSelector::Only))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schemes() {
        assert_eq!(
            SourceSpec::parse("docker-archive:/tmp/x.tar").unwrap(),
            SourceSpec::DockerArchive {
                path: "/tmp/x.tar".into()
            }
        );
        assert_eq!(
            SourceSpec::parse("alpine:3.19").unwrap(),
            SourceSpec::Registry {
                reference: "alpine:3.19".into()
            }
        );
        assert_eq!(
            SourceSpec::parse("registry:127.0.0.1:5000/a/b:c").unwrap(),
            SourceSpec::Registry {
                reference: "127.0.0.1:5000/a/b:c".into()
            }
        );
        assert_eq!(
            SourceSpec::parse("containerd:docker.io/library/alpine:3.19").unwrap(),
            SourceSpec::Containerd {
                reference: "docker.io/library/alpine:3.19".into()
            }
        );
        assert!(SourceSpec::parse("dir:").is_err());
        assert!(SourceSpec::parse("containerd:").is_err());
    }

    #[test]
    fn layout_selectors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("layout");
        std::fs::create_dir(&p).unwrap();
        let tagged = format!("oci-dir:{}:v1", p.display());
        assert_eq!(
            SourceSpec::parse(&tagged).unwrap(),
            SourceSpec::OciDir {
                path: p.clone(),
                selector: LayoutSelector::Tag("v1".into())
            }
        );
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let by_digest = format!("oci-dir:{}@{d}", p.display());
        assert_eq!(
            SourceSpec::parse(&by_digest).unwrap(),
            SourceSpec::OciDir {
                path: p.clone(),
                selector: LayoutSelector::Digest(d.parse().unwrap())
            }
        );
        assert!(SourceSpec::parse(&format!("oci-dir:{}@sha256:zz", p.display())).is_err());
    }
}
