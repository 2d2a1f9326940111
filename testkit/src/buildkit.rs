//! The real Docker + BuildKit + registry harness that `tests/e2e/up.sh`
//! starts, seen from a test: where it is (read from the environment that
//! `$STELLA_E2E_DIR/env.sh` exports), `docker buildx build --push` into its
//! loopback registry, and reading back what BuildKit pushed — manifests and
//! blobs with their digests verified, and the in-toto statements of the
//! attestation manifests (the BuildKit SBOM generator protocol, DESIGN.md §3).
//!
//! Tests start with `let Some(e2e) = E2e::require() else { return };`: without
//! the harness they say they were skipped, unless `STELLA_REQUIRE_E2E=1` (CI),
//! where a missing harness fails them. This is the one reader of the
//! harness's environment: tests ask [`E2e`], never `std::env`, for it.
//!
//! Tests may add images and tags (under unique names) and remove what they
//! added ([`crate::docker_images::DockerTag`]); they never stop or
//! reconfigure the harness, which others share.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::http::raw_request;

/// What `env.sh` exports; all of it must be set for the harness to count as up.
const VARIABLES: [&str; 8] = [
    "DOCKER_HOST",
    "DOCKER_CONFIG",
    "STELLA_E2E_REGISTRY",
    "STELLA_E2E_BASE",
    "STELLA_E2E_CONTAINERD_ADDRESS",
    "STELLA_E2E_COSIGN",
    "STELLA_E2E_ORAS",
    "STELLA_E2E_BUSYBOX",
];

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// The annotation BuildKit puts on the index entry of an attestation manifest,
/// and the one naming the image manifest it attests.
const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";

/// A running e2e harness.
#[derive(Debug, Clone)]
pub struct E2e {
    docker_host: OsString,
    docker_config: PathBuf,
    registry: String,
    base: String,
    containerd_address: PathBuf,
    containerd_namespace: String,
    cosign: PathBuf,
    oras: PathBuf,
    busybox: PathBuf,
}

/// A manifest as the registry served it: exact bytes, verified digest.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub digest: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

impl FetchedManifest {
    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.bytes)
            .map_err(|e| format!("manifest {} is not JSON: {e}", self.digest))
    }
}

impl E2e {
    /// The harness described by the environment, or `None` when any of its
    /// variables is unset.
    pub fn from_env() -> Option<E2e> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let text = |name: &str| var(name).and_then(|v| v.into_string().ok());
        let registry = text("STELLA_E2E_REGISTRY")?;
        let base = text("STELLA_E2E_BASE")?;
        // `REPO:TAG` is short for the harness registry's `REGISTRY/REPO:TAG`.
        let base = if base.starts_with(&format!("{registry}/")) {
            base
        } else {
            format!("{registry}/{base}")
        };
        Some(E2e {
            docker_host: var("DOCKER_HOST")?,
            docker_config: var("DOCKER_CONFIG")?.into(),
            registry,
            base,
            containerd_address: var("STELLA_E2E_CONTAINERD_ADDRESS")?.into(),
            containerd_namespace: text("STELLA_E2E_CONTAINERD_NAMESPACE")
                .unwrap_or_else(|| "moby".to_string()),
            cosign: var("STELLA_E2E_COSIGN")?.into(),
            oras: var("STELLA_E2E_ORAS")?.into(),
            busybox: var("STELLA_E2E_BUSYBOX")?.into(),
        })
    }

    /// The harness, or `None` after printing that the calling test is skipped.
    /// Panics instead when `STELLA_REQUIRE_E2E=1`: CI must not pass a test
    /// that did not run.
    pub fn require() -> Option<E2e> {
        if let Some(e2e) = E2e::from_env() {
            return Some(e2e);
        }
        let missing: Vec<&str> = VARIABLES
            .into_iter()
            .filter(|v| std::env::var_os(v).is_none_or(|x| x.is_empty()))
            .collect();
        if std::env::var("STELLA_REQUIRE_E2E").as_deref() == Ok("1") {
            panic!(
                "STELLA_REQUIRE_E2E=1 but the e2e harness environment is missing ({}): \
                 run tests/e2e/up.sh and source $STELLA_E2E_DIR/env.sh",
                missing.join(", ")
            );
        }
        eprintln!("skipped: no e2e harness (tests/e2e/up.sh)");
        None
    }

    /// The loopback registry, `127.0.0.1:PORT` (plain HTTP, no referrers API).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The pushed debootstrap minbase bookworm image (88 dpkg packages),
    /// always `REGISTRY/REPO:TAG`.
    pub fn base_image(&self) -> &str {
        &self.base
    }

    /// `REGISTRY/NAME` for a `repo:tag` or `repo@digest` name.
    pub fn image_ref(&self, name: &str) -> String {
        format!("{}/{name}", self.registry)
    }

    /// The socket of dockerd's managed containerd.
    pub fn containerd_address(&self) -> &Path {
        &self.containerd_address
    }

    /// Docker's namespace in that containerd (`moby`).
    pub fn containerd_namespace(&self) -> &str {
        &self.containerd_namespace
    }

    pub fn cosign(&self) -> &Path {
        &self.cosign
    }

    pub fn oras(&self) -> &Path {
        &self.oras
    }

    /// A static busybox, to build small generator images `FROM scratch`.
    pub fn busybox(&self) -> &Path {
        &self.busybox
    }

    /// The harness's docker CLI config directory (buildx is a plugin there).
    pub fn docker_config(&self) -> &Path {
        &self.docker_config
    }

    /// The socket of dockerd's API, when `DOCKER_HOST` is `unix://PATH`.
    pub fn docker_socket(&self) -> Option<&Path> {
        self.docker_host
            .to_str()
            .and_then(|host| host.strip_prefix("unix://"))
            .map(Path::new)
    }

    /// `docker` talking to the harness's daemon with its CLI config (which has
    /// buildx as a plugin).
    pub fn docker(&self) -> Command {
        let mut command = Command::new("docker");
        command
            .env("DOCKER_HOST", &self.docker_host)
            .env("DOCKER_CONFIG", &self.docker_config);
        command
    }

    /// Runs `docker ARGS` against the harness and fails the test unless it
    /// succeeds; its stdout, trimmed.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self
            .docker()
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run docker {args:?}: {e}"));
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `docker pull` of the base image into dockerd's containerd store (a
    /// no-op when it is there).
    pub fn pull_base(&self) {
        self.docker_ok(&["pull", "--quiet", &self.base]);
    }

    /// `docker buildx build --push -t REGISTRY/TAG EXTRA... CONTEXT`, where
    /// `tag` is `repo:tag`. On failure, the build's stderr (BuildKit's plain
    /// progress, which includes a failing generator's own stderr).
    pub fn buildx_build(
        &self,
        context: &Path,
        tag: &str,
        extra_args: &[&str],
    ) -> Result<Output, String> {
        let output = self
            .docker()
            .args(["buildx", "build", "--progress=plain", "--push", "-t"])
            .arg(self.image_ref(tag))
            .args(extra_args)
            .arg(context)
            .output()
            .map_err(|e| format!("cannot run docker: {e}"))?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(format!(
                "docker buildx build {tag} failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// Builds and pushes `repo:tag`, a `FROM scratch` image holding the static
    /// busybox (its applets installed in /bin) and `script` as
    /// `/bin/generator.sh`, run by busybox sh as the entrypoint: a BuildKit
    /// SBOM generator for `--sbom=generator=REF`. Returns REF.
    pub fn shell_generator_image(&self, script: &str, tag: &str) -> Result<String, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let write = |name: &str, data: &[u8]| {
            std::fs::write(dir.path().join(name), data).map_err(|e| format!("write {name}: {e}"))
        };
        let busybox =
            std::fs::read(&self.busybox).map_err(|e| format!("{}: {e}", self.busybox.display()))?;
        write("busybox", &busybox)?;
        // COPY keeps the mode: busybox must be executable in the image.
        std::fs::set_permissions(
            dir.path().join("busybox"),
            std::fs::Permissions::from_mode(0o755),
        )
        .map_err(|e| format!("chmod busybox: {e}"))?;
        write("generator.sh", script.as_bytes())?;
        write(
            "Dockerfile",
            b"FROM scratch\n\
              COPY busybox /bin/busybox\n\
              RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
              COPY generator.sh /bin/generator.sh\n\
              ENV PATH=/bin\n\
              ENTRYPOINT [\"/bin/sh\", \"/bin/generator.sh\"]\n",
        )?;
        self.buildx_build(dir.path(), tag, &["--provenance=false"])?;
        Ok(self.image_ref(tag))
    }

    /// Reads this harness's registry (digests verified).
    pub fn reader(&self) -> RegistryReader {
        RegistryReader::new(&self.registry)
    }

    /// [`RegistryReader::manifest`] on the harness's registry.
    pub fn manifest(&self, repo: &str, reference: &str) -> Result<FetchedManifest, String> {
        self.reader().manifest(repo, reference)
    }

    /// [`RegistryReader::blob`] on the harness's registry.
    pub fn blob(&self, repo: &str, digest: &str) -> Result<Vec<u8>, String> {
        self.reader().blob(repo, digest)
    }

    /// [`RegistryReader::attestation_statements`] on the harness's registry.
    pub fn attestation_statements(
        &self,
        repo: &str,
        tag: &str,
    ) -> Result<Vec<(String, Vec<Value>)>, String> {
        self.reader().attestation_statements(repo, tag)
    }
}

/// A small blocking reader of a loopback registry (plain HTTP): manifests
/// and blobs with their digests verified, and BuildKit's attestations.
#[derive(Debug, Clone)]
pub struct RegistryReader {
    addr: String,
}

impl RegistryReader {
    /// `addr` is `127.0.0.1:PORT`: the harness's registry, or a fault proxy
    /// in front of it.
    pub fn new(addr: &str) -> RegistryReader {
        RegistryReader {
            addr: addr.to_string(),
        }
    }

    /// GET a manifest by tag or digest. The digest is the sha256 of the bytes
    /// served, checked against the requested digest or, for a tag, the
    /// registry's `Docker-Content-Digest`.
    pub fn manifest(&self, repo: &str, reference: &str) -> Result<FetchedManifest, String> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let response = self.get(&path, &[("Accept", MANIFEST_ACCEPT)])?;
        let digest = sha256_digest(&response.body);
        let expected = if reference.starts_with("sha256:") {
            reference.to_string()
        } else {
            response
                .header("docker-content-digest")
                .ok_or_else(|| format!("{path}: no Docker-Content-Digest header"))?
                .to_string()
        };
        if digest != expected {
            return Err(format!(
                "{path}: served bytes hash to {digest}, not {expected}"
            ));
        }
        Ok(FetchedManifest {
            digest,
            media_type: response
                .header("content-type")
                .unwrap_or_default()
                .to_string(),
            bytes: response.body,
        })
    }

    /// GET a blob, verified against its digest.
    pub fn blob(&self, repo: &str, digest: &str) -> Result<Vec<u8>, String> {
        let path = format!("/v2/{repo}/blobs/{digest}");
        let response = self.get(&path, &[])?;
        let actual = sha256_digest(&response.body);
        if actual != digest {
            return Err(format!("{path}: served bytes hash to {actual}"));
        }
        Ok(response.body)
    }

    /// The in-toto statements BuildKit attached to `repo:tag`: for every
    /// index entry annotated `vnd.docker.reference.type=attestation-manifest`,
    /// the digest of the image manifest it attests and the statements of its
    /// layers, in layer order. Empty when the tag is a single manifest.
    pub fn attestation_statements(
        &self,
        repo: &str,
        tag: &str,
    ) -> Result<Vec<(String, Vec<Value>)>, String> {
        let index = self.manifest(repo, tag)?.json()?;
        let mut found = Vec::new();
        for entry in index["manifests"].as_array().into_iter().flatten() {
            let annotations = &entry["annotations"];
            if annotations[REFERENCE_TYPE] != "attestation-manifest" {
                continue;
            }
            let subject = annotations[REFERENCE_DIGEST].as_str().ok_or_else(|| {
                format!("{repo}:{tag}: attestation entry without {REFERENCE_DIGEST}")
            })?;
            let digest = entry["digest"]
                .as_str()
                .ok_or_else(|| format!("{repo}:{tag}: index entry without a digest"))?;
            let manifest = self.manifest(repo, digest)?.json()?;
            let mut statements = Vec::new();
            // BuildKit writes `"layers": null` when a generator produced nothing.
            for layer in manifest["layers"].as_array().into_iter().flatten() {
                let layer_digest = layer["digest"]
                    .as_str()
                    .ok_or_else(|| format!("{digest}: layer without a digest"))?;
                let bytes = self.blob(repo, layer_digest)?;
                let statement = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("attestation layer {layer_digest} is not JSON: {e}"))?;
                statements.push(statement);
            }
            found.push((subject.to_string(), statements));
        }
        Ok(found)
    }

    fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<crate::http::RawResponse, String> {
        let response = raw_request(&self.addr, "GET", path, headers)
            .map_err(|e| format!("GET {path} on {}: {e}", self.addr))?;
        if response.status != 200 {
            return Err(format!(
                "GET {path} on {}: HTTP {}: {}",
                self.addr,
                response.status,
                String::from_utf8_lossy(&response.body[..response.body.len().min(300)])
            ));
        }
        Ok(response)
    }
}

fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_digest_of_empty_input_is_the_well_known_one() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
