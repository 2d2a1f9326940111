//! OCI distribution registry source (`registry:REF` and bare `REF`).
//!
//! Why it looks like this: the rest of Stella is synchronous and reads
//! layers from several threads at once, while the maintained registry
//! client (`oci-client`, which does the bearer-token dance, Docker Hub
//! aliases and the distribution API) is async. So each opened image owns a
//! small tokio runtime; every request runs as a task on it and callers wait
//! on it with a plain executor (which works from any thread, even one inside
//! another runtime). Layer bodies are moved through a bounded channel of
//! chunks, so memory stays bounded however large a layer is, and each layer
//! reader is wrapped in [`VerifyingReader`] (size and digest checked at end
//! of stream) on top of `oci-client`'s own check.
//!
//! Trust: manifests are digest-checked here (against the reference's digest
//! when it has one, else against `Docker-Content-Digest` when sent, and the
//! computed digest becomes the image's identity); configs and child
//! manifests are then checked by [`resolve_chain`] against their
//! descriptors. A lying registry yields a `StoreError` or an
//! `io::ErrorKind::InvalidData` read error naming the digest, never data.
//!
//! Transport: HTTPS, except plain HTTP for loopback hosts and for the
//! registries listed in [`OpenOptions::insecure_registries`].
//! Credentials: see [`auth`] (and [`token`] for `identitytoken`s).
//!
//! Known limit: oci-client reads a manifest response whole before we can
//! check its size, so the 4 MiB manifest limit is enforced after the read;
//! layers and configs are streamed and bounded while they arrive.

pub(crate) mod auth;
pub(crate) mod token;

use std::future::Future;
use std::io::{self, Read};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use sha2::{Digest as _, Sha256, Sha512};
use stella_model::{Digest, DigestAlgorithm};
use tokio::sync::mpsc;

use crate::image::{
    image_info, resolve_chain, BlobSource, LayerDescriptor, OpenOptions, ResolvedImage,
};
use crate::oci::{
    Descriptor, MAX_MANIFEST_BYTES, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST,
};
use crate::verify::VerifyingReader;
use crate::StoreError;

/// Manifest media types we ask for (and can read).
const ACCEPT: &[&str] = &[
    MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST,
    MEDIA_DOCKER_LIST,
    MEDIA_DOCKER_MANIFEST,
];
/// Chunks of one blob buffered between the network task and the reader.
pub(crate) const CHUNKS_IN_FLIGHT: usize = 8;
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// A registry silent for this long on one read is given up on.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(120);
pub(crate) const USER_AGENT: &str = concat!("stella/", env!("CARGO_PKG_VERSION"));
/// Worker threads of the runtime each opened image owns.
const RUNTIME_THREADS: usize = 2;
/// Server-provided text quoted in errors is cut to this many characters.
const MAX_QUOTE: usize = 300;

pub(crate) fn open_registry(
    reference: &str,
    opts: &OpenOptions,
) -> Result<ResolvedImage, StoreError> {
    let parsed = crate::reference::parse_source(reference)?;
    let runtime = OwnedRuntime::new()?;
    let remote = Arc::new(Remote::connect(parsed, opts, runtime.handle())?);

    let (root_bytes, root_digest) = remote.fetch_root_manifest()?;
    let location = remote.location();
    let fetch_remote = remote.clone();
    let fetch = move |d: &Descriptor, limit: u64| fetch_remote.fetch_document(d, limit);
    let resolved = resolve_chain(root_bytes, root_digest, &opts.platform, &location, &fetch)?;
    Ok(ResolvedImage {
        info: image_info(&resolved, Some(remote.reference.whole())),
        config: resolved.config,
        layers: resolved.layers,
        blobs: Box::new(RegistryBlobs {
            remote,
            _runtime: runtime,
        }),
    })
}

/// Plain HTTP for loopback hosts and the registries the user listed as insecure.
pub(crate) fn speaks_plain_http(reference: &Reference, insecure_registries: &[String]) -> bool {
    let registry = reference.resolve_registry();
    is_loopback(registry)
        || insecure_registries
            .iter()
            .any(|r| insecure_matches(r, registry) || insecure_matches(r, reference.registry()))
}

/// An oci-client for one registry (`host[:port]` as resolved).
pub(crate) fn oci_client_for(registry: &str, plain_http: bool) -> Result<Client, StoreError> {
    let config = ClientConfig {
        protocol: if plain_http {
            ClientProtocol::HttpsExcept(vec![registry.to_string()])
        } else {
            ClientProtocol::Https
        },
        // We pick the platform ourselves (variants, a clear error).
        platform_resolver: None,
        connect_timeout: Some(CONNECT_TIMEOUT),
        read_timeout: Some(READ_TIMEOUT),
        user_agent: USER_AGENT,
        ..ClientConfig::default()
    };
    Client::try_from(config).map_err(|e| StoreError::Registry {
        registry: registry.to_string(),
        reason: format!("cannot set up an HTTP client: {e}"),
    })
}

/// The docker-config credentials for the reference's registry, if any.
pub(crate) fn credentials_for(
    reference: &Reference,
    docker_config_dir: Option<&std::path::Path>,
) -> Result<Option<auth::Credentials>, StoreError> {
    let config_dir = auth::config_dir(docker_config_dir);
    auth::lookup(reference.registry(), config_dir.as_deref())
}

/// The runtime an opened image owns. Shut down without waiting, so dropping
/// an image never blocks (nor panics inside someone else's runtime).
pub(crate) struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl OwnedRuntime {
    pub(crate) fn new() -> Result<OwnedRuntime, StoreError> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(RUNTIME_THREADS)
            .thread_name("stella-registry")
            .enable_all()
            .build()
            .map(|rt| OwnedRuntime(Some(rt)))
            .map_err(|e| StoreError::Unsupported(format!("cannot start the network runtime: {e}")))
    }

    pub(crate) fn handle(&self) -> tokio::runtime::Handle {
        match &self.0 {
            Some(rt) => rt.handle().clone(),
            None => unreachable!("the runtime is only taken in drop"),
        }
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// One repository on one registry, with the client and credentials to reach it.
struct Remote {
    client: Client,
    reference: Reference,
    auth: RegistryAuth,
    /// Where the credentials came from, `None` when anonymous.
    credential_origin: Option<String>,
    handle: tokio::runtime::Handle,
}

/// What a request was about, for error messages.
enum Target<'a> {
    Registry,
    Manifest(&'a str),
    Blob(&'a Digest),
}

impl Remote {
    fn connect(
        reference: Reference,
        opts: &OpenOptions,
        handle: tokio::runtime::Handle,
    ) -> Result<Remote, StoreError> {
        let registry = reference.resolve_registry().to_string();
        let plain_http = speaks_plain_http(&reference, &opts.insecure_registries);
        let client = oci_client_for(&registry, plain_http)?;
        let credentials = credentials_for(&reference, opts.docker_config_dir.as_deref())?;
        let mut remote = Remote {
            client,
            reference,
            auth: RegistryAuth::Anonymous,
            credential_origin: credentials.as_ref().map(|c| c.origin.clone()),
            handle,
        };
        remote.auth = match credentials.map(|c| c.secret) {
            None => RegistryAuth::Anonymous,
            Some(auth::Secret::Basic { username, password }) => {
                RegistryAuth::Basic(username, password)
            }
            Some(auth::Secret::IdentityToken(token)) => {
                let scheme = if plain_http { "http" } else { "https" };
                let access = remote.run(token::exchange_identity_token(
                    format!("{scheme}://{registry}/v2/"),
                    remote.reference.repository().to_string(),
                    token,
                    "pull",
                ))?;
                RegistryAuth::Bearer(access.map_err(|reason| remote.auth_failed(reason))?)
            }
        };
        // Authenticate up front: oci-client otherwise swallows token errors
        // and carries on anonymously, which would hide bad credentials.
        let (client, image, auth) = (
            remote.client.clone(),
            remote.reference.clone(),
            remote.auth.clone(),
        );
        remote
            .run(async move { client.auth(&image, &auth, RegistryOperation::Pull).await })?
            .map_err(|e| remote.classify(e, Target::Registry))?;
        Ok(remote)
    }

    /// `REGISTRY/REPOSITORY`, as users write it.
    fn name(&self) -> String {
        format!(
            "{}/{}",
            self.reference.registry(),
            self.reference.repository()
        )
    }

    /// `registry REGISTRY/REPOSITORY`, for "… in LOCATION" messages.
    fn location(&self) -> String {
        format!("registry {}", self.name())
    }

    /// Runs a future on the image's runtime and waits for it from this thread.
    fn run<F>(&self, fut: F) -> Result<F::Output, StoreError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let task = self.handle.spawn(fut);
        futures_executor::block_on(task).map_err(|e| StoreError::Registry {
            registry: self.name(),
            reason: format!("network task ended abnormally: {e}"),
        })
    }

    /// Fetches and verifies the manifest the reference names.
    fn fetch_root_manifest(&self) -> Result<(Vec<u8>, Digest), StoreError> {
        let shown = match (self.reference.digest(), self.reference.tag()) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.to_string(),
            (None, None) => "latest".to_string(),
        };
        let wanted: Option<Digest> = match self.reference.digest() {
            Some(d) => Some(d.parse().map_err(|e| StoreError::BadSource {
                input: self.reference.whole(),
                reason: format!("digest {d}: {e}"),
            })?),
            None => None,
        };
        let (bytes, reported) = self.pull_manifest(self.reference.clone(), &shown)?;
        let what = format!("manifest {shown} in {}", self.location());
        check_manifest_size(&bytes, &what)?;
        // The registry's word (Docker-Content-Digest, which oci-client hands
        // back when sent, else its own sha256) is re-checked here; a digest in
        // the reference is the caller's word and wins.
        let expected = match wanted {
            Some(d) => d,
            None => reported.parse().map_err(|e| StoreError::Registry {
                registry: self.name(),
                reason: format!("{what}: registry sent an unusable digest {reported:?}: {e}"),
            })?,
        };
        let actual = digest_of(&bytes, expected.algorithm());
        if actual != expected {
            return Err(StoreError::DigestMismatch {
                what,
                expected,
                actual,
            });
        }
        Ok((bytes, actual))
    }

    fn pull_manifest(
        &self,
        image: Reference,
        shown: &str,
    ) -> Result<(Vec<u8>, String), StoreError> {
        let (client, auth) = (self.client.clone(), self.auth.clone());
        let result =
            self.run(async move { client.pull_manifest_raw(&image, &auth, ACCEPT).await })?;
        result
            .map(|(bytes, digest)| (bytes.to_vec(), digest))
            .map_err(|e| self.classify(e, Target::Manifest(shown)))
    }

    /// A child manifest or a config, for [`resolve_chain`] (which verifies it).
    fn fetch_document(
        &self,
        d: &Descriptor,
        limit: u64,
    ) -> Result<Box<dyn Read + Send>, StoreError> {
        let is_manifest = match d.media_type.as_str() {
            "" => limit == MAX_MANIFEST_BYTES,
            m => ACCEPT.contains(&m),
        };
        if is_manifest {
            let shown = d.digest.to_string();
            let (bytes, _) =
                self.pull_manifest(self.reference.clone_with_digest(shown.clone()), &shown)?;
            check_manifest_size(&bytes, &format!("manifest {shown} in {}", self.location()))?;
            Ok(Box::new(io::Cursor::new(bytes)))
        } else {
            Ok(Box::new(self.open_blob(&d.digest)?))
        }
    }

    /// Starts streaming a blob; errors before the first byte (404, 401, …)
    /// surface here, later ones from the reader.
    fn open_blob(&self, digest: &Digest) -> Result<ChannelReader, StoreError> {
        let (client, image, text) = (
            self.client.clone(),
            self.reference.clone(),
            digest.to_string(),
        );
        let (tx, rx) = mpsc::channel::<io::Result<Option<Bytes>>>(CHUNKS_IN_FLIGHT);
        let (opened_tx, opened_rx) = tokio::sync::oneshot::channel();
        self.handle.spawn(async move {
            let mut stream = match client.pull_blob_stream(&image, text.as_str()).await {
                Ok(s) => {
                    let _ = opened_tx.send(Ok(()));
                    s
                }
                Err(e) => {
                    let _ = opened_tx.send(Err(e));
                    return;
                }
            };
            while let Some(item) = stream.next().await {
                let failed = item.is_err();
                // A reader that went away ends the download.
                if tx.send(item.map(Some)).await.is_err() || failed {
                    return;
                }
            }
            let _ = tx.send(Ok(None)).await;
        });
        match futures_executor::block_on(opened_rx) {
            Ok(Ok(())) => Ok(ChannelReader::new(rx, digest.clone())),
            Ok(Err(e)) => Err(self.classify(e, Target::Blob(digest))),
            Err(_) => Err(StoreError::Registry {
                registry: self.name(),
                reason: format!("blob {digest}: download task ended before answering"),
            }),
        }
    }

    fn auth_failed(&self, reason: impl std::fmt::Display) -> StoreError {
        StoreError::AuthFailed {
            registry: self.reference.registry().to_string(),
            repository: self.reference.repository().to_string(),
            reason: reason.to_string(),
        }
    }

    /// Turns oci-client's errors into ours, naming registry, repository and object.
    fn classify(&self, err: OciDistributionError, target: Target<'_>) -> StoreError {
        let location = self.location();
        let about = match &target {
            Target::Registry => "version check".to_string(),
            Target::Manifest(r) => format!("manifest {r}"),
            Target::Blob(d) => format!("blob {d}"),
        };
        let not_found = || match &target {
            Target::Blob(d) => StoreError::BlobNotFound {
                digest: (*d).clone(),
                location: location.clone(),
            },
            Target::Manifest(r) => StoreError::NotFound {
                what: "manifest",
                reference: (*r).to_string(),
                location: location.clone(),
            },
            Target::Registry => StoreError::NotFound {
                what: "registry API",
                reference: "/v2/".into(),
                location: location.clone(),
            },
        };
        let refused = |detail: String| match &self.credential_origin {
            Some(origin) => self.auth_failed(format!(
                "credentials from {origin} were rejected ({detail})"
            )),
            None => self.auth_failed(format!(
                "anonymous access refused ({detail}); no credentials for {} in the docker \
                 config (run `docker login {}`)",
                self.reference.registry(),
                self.reference.registry()
            )),
        };
        let other = |reason: String| StoreError::Registry {
            registry: self.name(),
            reason: format!("{about}: {reason}"),
        };
        match err {
            OciDistributionError::UnauthorizedError { .. } => refused("HTTP 401".into()),
            OciDistributionError::AuthenticationFailure(reason) => {
                refused(format!("token service said: {}", quote(&reason)))
            }
            OciDistributionError::RegistryError { envelope, .. } => {
                let has = |codes: &[OciErrorCode]| {
                    envelope.errors.iter().any(|e| codes.contains(&e.code))
                };
                if has(&[
                    OciErrorCode::ManifestUnknown,
                    OciErrorCode::BlobUnknown,
                    OciErrorCode::NotFound,
                ]) {
                    not_found()
                } else if has(&[OciErrorCode::NameUnknown]) {
                    StoreError::NotFound {
                        what: "repository",
                        reference: self.reference.repository().to_string(),
                        location: format!("registry {}", self.reference.registry()),
                    }
                } else if has(&[OciErrorCode::Unauthorized, OciErrorCode::Denied]) {
                    refused(quote(&envelope.to_string()))
                } else {
                    other(quote(&envelope.to_string()))
                }
            }
            OciDistributionError::ServerError { code, message, .. } => match code {
                404 => not_found(),
                401 | 403 => refused(format!("HTTP {code}")),
                _ => other(format!("HTTP {code}: {}", quote(&message))),
            },
            OciDistributionError::DigestError(DigestError::VerificationError {
                expected,
                actual,
            }) => match (expected.parse::<Digest>(), actual.parse::<Digest>()) {
                (Ok(expected), Ok(actual)) => StoreError::DigestMismatch {
                    what: format!("{about} in {location}"),
                    expected,
                    actual,
                },
                _ => other(format!(
                    "digest mismatch: expected {expected}, got {actual}"
                )),
            },
            OciDistributionError::RequestError(e) => other(error_chain(&e)),
            e => other(error_chain(&e)),
        }
    }
}

/// Streams of one registry repository, shared by all layer readers.
struct RegistryBlobs {
    remote: Arc<Remote>,
    // Dropped last: readers borrow `self`, so none outlive the runtime.
    _runtime: OwnedRuntime,
}

impl BlobSource for RegistryBlobs {
    fn open_layer(&self, layer: &LayerDescriptor) -> Result<Box<dyn Read + Send + '_>, StoreError> {
        let raw = self.remote.open_blob(&layer.digest)?;
        Ok(Box::new(VerifyingReader::new(
            raw,
            layer.digest.clone(),
            layer.size,
        )))
    }
}

/// The synchronous end of a blob download. A clean end of stream is an
/// explicit message, so a download cut short can never pass for one.
pub(crate) struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Option<Bytes>>>,
    current: Bytes,
    finished: bool,
    digest: Digest,
}

impl ChannelReader {
    /// Chunks arrive on `rx`; `Ok(None)` marks the clean end of `digest`'s body.
    pub(crate) fn new(rx: mpsc::Receiver<io::Result<Option<Bytes>>>, digest: Digest) -> Self {
        ChannelReader {
            rx,
            current: Bytes::new(),
            finished: false,
            digest,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.finished || buf.is_empty() {
                return Ok(0);
            }
            match futures_executor::block_on(self.rx.recv()) {
                Some(Ok(Some(chunk))) => self.current = chunk,
                Some(Ok(None)) => self.finished = true,
                Some(Err(e)) => {
                    self.finished = true;
                    return Err(io::Error::new(
                        e.kind(),
                        format!("blob {}: download failed: {}", self.digest, error_chain(&e)),
                    ));
                }
                None => {
                    self.finished = true;
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("blob {}: download ended abruptly", self.digest),
                    ));
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

fn check_manifest_size(bytes: &[u8], what: &str) -> Result<(), StoreError> {
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(StoreError::TooLarge {
            what: what.to_string(),
            size: bytes.len() as u64,
            limit: MAX_MANIFEST_BYTES,
        });
    }
    Ok(())
}

pub(crate) fn digest_of(bytes: &[u8], algorithm: DigestAlgorithm) -> Digest {
    match algorithm {
        DigestAlgorithm::Sha256 => Digest::from_sha256_bytes(&Sha256::digest(bytes)),
        DigestAlgorithm::Sha512 => Digest::from_sha512_bytes(&Sha512::digest(bytes)),
    }
}

/// `host[:port]` → is the host a loopback address or `localhost`?
pub(crate) fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        // `[::1]:5000`
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => match registry.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => registry,
        },
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An `insecure_registries` entry matches `host:port` exactly, or by host
/// alone when the entry has no port.
fn insecure_matches(entry: &str, registry: &str) -> bool {
    let entry = entry
        .trim()
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/');
    entry.eq_ignore_ascii_case(registry)
        || (!entry.contains(':')
            && registry
                .rsplit_once(':')
                .is_some_and(|(host, _)| host.eq_ignore_ascii_case(entry)))
}

/// Server text is untrusted: one line, bounded.
pub(crate) fn quote(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_QUOTE)
        .collect();
    if text.chars().count() > MAX_QUOTE {
        format!("{}…", flat.trim())
    } else {
        flat.trim().to_string()
    }
}

/// An error and its sources, joined: reqwest's own message rarely says why.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    let mut depth = 0;
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
        depth += 1;
        if depth > 8 {
            break;
        }
    }
    quote(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("127.3.2.1"));
        assert!(is_loopback("localhost:80"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("10.0.0.1:5000"));
        assert!(!is_loopback("localhost.example.com"));
        assert!(!is_loopback("index.docker.io"));
    }

    #[test]
    fn insecure_entries() {
        assert!(insecure_matches("reg.lan:5000", "reg.lan:5000"));
        assert!(insecure_matches("reg.lan", "reg.lan:5000"));
        assert!(insecure_matches("http://reg.lan:5000/", "reg.lan:5000"));
        assert!(!insecure_matches("reg.lan:5001", "reg.lan:5000"));
        assert!(!insecure_matches("lan", "reg.lan:5000"));
    }

    #[test]
    fn references_follow_docker_conventions() {
        let r: Reference = "alpine".parse().unwrap();
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.resolve_registry(), "index.docker.io");
        assert_eq!(r.repository(), "library/alpine");
        assert_eq!(r.tag(), Some("latest"));
        let r: Reference = "127.0.0.1:5000/team/app@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            .parse()
            .unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "team/app");
        assert!(r.digest().is_some());
    }

    #[test]
    fn bad_reference_is_a_bad_source() {
        let err = open_registry("UPPER/Case", &OpenOptions::default()).unwrap_err();
        assert!(matches!(err, StoreError::BadSource { .. }), "{err}");
    }

    #[test]
    fn quotes_are_bounded() {
        let long = "x\n".repeat(1000);
        let q = quote(&long);
        assert!(q.chars().count() <= MAX_QUOTE + 1);
        assert!(!q.contains('\n'));
    }
}
