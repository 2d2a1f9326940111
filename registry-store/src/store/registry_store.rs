//! The registry backend of the artifact store: one repository of an OCI
//! distribution registry, spoken to directly over HTTP (see [`super::http`]).
//!
//! Referrers: the referrers API (`GET /v2/<name>/referrers/<digest>`) when
//! the registry has it, filtered client-side when the server did not say
//! `OCI-Filters-Applied: artifactType`; otherwise the tag schema fallback of
//! [`super::fallback`]. A manifest with a `subject` whose PUT is not
//! answered with `OCI-Subject` is entered in the fallback index by us, as
//! the distribution spec asks of clients.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::Method;
use stella_model::Digest;
use tokio::sync::mpsc;

use super::fallback::{self, fallback_tag, referrer_tag, referrer_tag_hex};
use super::http::{Access, Http, Reply, Request};
use super::upload::{self, refusal};
use super::{
    check_manifest, filter_artifact_type, sort_referrers, ArtifactStore, ManifestBytes,
    ManifestFacts, ManifestRef, RetryPolicy, StoreOptions,
};
use crate::oci::{Descriptor, MAX_MANIFEST_BYTES, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST};
use crate::registry::{
    credentials_for, digest_of, speaks_plain_http, ChannelReader, OwnedRuntime, CHUNKS_IN_FLIGHT,
};
use crate::verify::VerifyingReader;
use crate::StoreError;

const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json";
/// Pages of a tag list or referrers list followed at most.
const MAX_PAGES: usize = 1000;
/// Tags asked for per page.
const TAGS_PER_PAGE: usize = 1000;
/// Rounds of read-back-and-repair of a fallback index before giving up.
const MAX_REPAIR_ROUNDS: u32 = 40;

/// What we know of the registry's referrers API.
const API_UNKNOWN: u8 = 0;
const API_YES: u8 = 1;
const API_NO: u8 = 2;

/// One repository of a registry.
pub struct RegistryStore {
    inner: Arc<Inner>,
    // Dropped last: no request outlives the runtime it runs on.
    _runtime: OwnedRuntime,
}

struct Inner {
    http: Http,
    policy: RetryPolicy,
    chunk_size: usize,
    referrers_api: AtomicU8,
}

impl RegistryStore {
    /// Opens `HOST[:PORT]/REPOSITORY` (a tag or digest in it is ignored).
    pub fn open(repository: &str, opts: &StoreOptions) -> Result<RegistryStore, StoreError> {
        Ok(Self::open_reference(repository, opts)?.0)
    }

    /// Opens the repository of an image reference, and says which manifest
    /// the reference names (its digest, else its tag, else `latest`).
    pub fn open_reference(
        reference: &str,
        opts: &StoreOptions,
    ) -> Result<(RegistryStore, ManifestRef), StoreError> {
        let parsed = crate::reference::parse_source(reference)?;
        let named = match (parsed.digest(), parsed.tag()) {
            (Some(d), _) => ManifestRef::Digest(d.parse().map_err(|e| StoreError::BadSource {
                input: reference.to_string(),
                reason: format!("digest {d}: {e}"),
            })?),
            (None, Some(t)) => ManifestRef::tag(t)?,
            (None, None) => ManifestRef::Tag("latest".into()),
        };
        let plain_http = speaks_plain_http(&parsed, &opts.insecure_registries);
        let credentials = credentials_for(&parsed, opts.docker_config_dir.as_deref())?;
        let http = Http::new(&parsed, plain_http, credentials, opts.retry.clone())?;
        let runtime = OwnedRuntime::new()?;
        Ok((
            RegistryStore {
                inner: Arc::new(Inner {
                    http,
                    policy: opts.retry.clone(),
                    chunk_size: opts.chunk_size,
                    referrers_api: AtomicU8::new(API_UNKNOWN),
                }),
                _runtime: runtime,
            },
            named,
        ))
    }

    /// Whether the registry answered the referrers API (`None`: not asked yet).
    pub fn has_referrers_api(&self) -> Option<bool> {
        match self.inner.referrers_api.load(Ordering::SeqCst) {
            API_YES => Some(true),
            API_NO => Some(false),
            _ => None,
        }
    }

    /// Runs an async job on the store's runtime and waits for it.
    fn run<T, F, Fut>(&self, job: F) -> Result<T, StoreError>
    where
        F: FnOnce(Arc<Inner>) -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        let task = self._runtime.handle().spawn(job(self.inner.clone()));
        futures_executor::block_on(task).map_err(|e| StoreError::Registry {
            registry: self.inner.http.name.clone(),
            reason: format!("network task ended abnormally: {e}"),
        })?
    }
}

impl ArtifactStore for RegistryStore {
    fn location(&self) -> String {
        format!("registry {}", self.inner.http.name)
    }

    fn blob_exists(&self, digest: &Digest) -> Result<bool, StoreError> {
        let digest = digest.clone();
        self.run(|inner| async move { upload::exists(&inner.http, &digest).await })
    }

    fn get_blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, StoreError> {
        let digest = digest.clone();
        self.run(|inner| async move { inner.get_blob(&digest, limit).await })
    }

    fn open_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send + '_>, StoreError> {
        let digest = descriptor.digest.clone();
        let (tx, rx) = mpsc::channel::<io::Result<Option<Bytes>>>(CHUNKS_IN_FLIGHT);
        let reply = {
            let digest = digest.clone();
            self.run(|inner| async move { inner.open_blob(&digest).await })?
        };
        let Some(mut response) = reply.stream else {
            return Err(self
                .inner
                .http
                .registry_error(format!("blob {digest}: no body")));
        };
        self._runtime.handle().spawn(async move {
            loop {
                let item = match response.chunk().await {
                    Ok(Some(chunk)) => Ok(Some(chunk)),
                    Ok(None) => Ok(None),
                    Err(e) => Err(io::Error::other(crate::registry::error_chain(&e))),
                };
                let end = !matches!(item, Ok(Some(_)));
                // A reader that went away ends the download.
                if tx.send(item).await.is_err() || end {
                    return;
                }
            }
        });
        Ok(Box::new(VerifyingReader::new(
            ChannelReader::new(rx, digest.clone()),
            digest,
            Some(descriptor.size),
        )))
    }

    fn put_blob(&self, expected: &Digest, data: &[u8]) -> Result<(), StoreError> {
        super::check_blob_to_store(&self.location(), expected, data)?;
        let digest = expected.clone();
        let data = Bytes::copy_from_slice(data);
        self.run(|inner| async move {
            if upload::exists(&inner.http, &digest).await? {
                return Ok(());
            }
            upload::upload(&inner.http, &digest, data, inner.chunk_size, &inner.policy).await
        })
    }

    /// All digests checked first (nothing is sent when one is wrong), then
    /// every blob's existence check and upload at once: each is a chain of
    /// small requests the registry answers from its disk, and a first
    /// attach sends four of them.
    fn put_blobs(&self, blobs: &[(&Digest, &[u8])]) -> Result<(), StoreError> {
        let mut owned = Vec::with_capacity(blobs.len());
        for (expected, data) in blobs {
            super::check_blob_to_store(&self.location(), expected, data)?;
            owned.push(((*expected).clone(), Bytes::copy_from_slice(data)));
        }
        self.run(|inner| async move {
            let uploads = owned.into_iter().map(|(digest, data)| {
                let inner = inner.clone();
                async move {
                    if upload::exists(&inner.http, &digest).await? {
                        return Ok(());
                    }
                    upload::upload(&inner.http, &digest, data, inner.chunk_size, &inner.policy)
                        .await
                }
            });
            futures_util::future::try_join_all(uploads).await.map(drop)
        })
    }

    fn get_manifest(&self, reference: &ManifestRef) -> Result<ManifestBytes, StoreError> {
        let reference = reference.clone();
        self.run(|inner| async move { inner.get_manifest(&reference).await })
    }

    fn put_manifest(
        &self,
        bytes: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> Result<Descriptor, StoreError> {
        let manifest = ManifestBytes::to_put(bytes, media_type, tag)?;
        let tag = tag.map(str::to_string);
        let mut stored =
            self.run(|inner| async move { inner.put_manifests(vec![(manifest, tag)]).await })?;
        stored.pop().ok_or_else(|| {
            self.inner
                .http
                .registry_error("storing one manifest stored none")
        })
    }

    fn put_manifests(&self, manifests: &[Vec<u8>]) -> Result<Vec<Descriptor>, StoreError> {
        let manifests = manifests
            .iter()
            .map(|bytes| {
                Ok((
                    ManifestBytes::to_put(bytes, MEDIA_OCI_MANIFEST, None)?,
                    None,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.run(|inner| async move { inner.put_manifests(manifests).await })
    }

    /// Tags, without the referrers tag schema's bookkeeping tags.
    fn tags(&self) -> Result<Vec<String>, StoreError> {
        let all = self.run(|inner| async move { inner.tags().await })?;
        Ok(all
            .into_iter()
            .filter(|t| !fallback::is_schema_tag(t))
            .collect())
    }

    fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, StoreError> {
        let subject = subject.clone();
        let artifact_type = artifact_type.map(str::to_string);
        self.run(|inner| async move { inner.referrers(&subject, artifact_type.as_deref()).await })
    }
}

impl Inner {
    fn location(&self) -> String {
        format!("registry {}", self.http.name)
    }

    async fn get_blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, StoreError> {
        let req = Request::new(
            Method::GET,
            self.http.url(&format!("blobs/{digest}")),
            Access::Pull,
            format!("blob {digest}"),
        );
        let reply = self.http.exchange(&req, limit).await?;
        match reply.status {
            200 => {}
            404 => {
                return Err(StoreError::BlobNotFound {
                    digest: digest.clone(),
                    location: self.location(),
                })
            }
            _ => return Err(refusal(&self.http, &req.what, &reply)),
        }
        let actual = digest_of(&reply.body, digest.algorithm());
        if &actual != digest {
            return Err(StoreError::DigestMismatch {
                what: format!("blob {digest} in {}", self.location()),
                expected: digest.clone(),
                actual,
            });
        }
        Ok(reply.body)
    }

    async fn open_blob(&self, digest: &Digest) -> Result<Reply, StoreError> {
        let req = Request::new(
            Method::GET,
            self.http.url(&format!("blobs/{digest}")),
            Access::Pull,
            format!("blob {digest}"),
        );
        let reply = self.http.open(&req).await?;
        match reply.status {
            200 => Ok(reply),
            404 => Err(StoreError::BlobNotFound {
                digest: digest.clone(),
                location: self.location(),
            }),
            _ => Err(refusal(&self.http, &req.what, &reply)),
        }
    }

    async fn get_manifest(&self, reference: &ManifestRef) -> Result<ManifestBytes, StoreError> {
        self.fetch_manifest(reference)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "manifest",
                reference: reference.to_string(),
                location: self.location(),
            })
    }

    /// A manifest, verified, or `None` when the registry has none by that name.
    async fn fetch_manifest(
        &self,
        reference: &ManifestRef,
    ) -> Result<Option<ManifestBytes>, StoreError> {
        let what = format!("manifest {reference}");
        let req = Request::new(
            Method::GET,
            self.http.url(&format!("manifests/{reference}")),
            Access::Pull,
            what.clone(),
        )
        .header(ACCEPT, ACCEPT_MANIFESTS);
        let reply = self.http.exchange(&req, MAX_MANIFEST_BYTES).await?;
        match reply.status {
            200 => {}
            404 => return Ok(None),
            _ => return Err(refusal(&self.http, &what, &reply)),
        }
        let what = format!("{what} in {}", self.location());
        // The digest asked for is the caller's word and wins; a tag is
        // checked against the registry's Docker-Content-Digest when sent.
        let expected = match reference {
            ManifestRef::Digest(d) => Some(d.clone()),
            ManifestRef::Tag(_) => match reply.header("docker-content-digest") {
                Some(h) => Some(h.parse::<Digest>().map_err(|e| {
                    self.http.registry_error(format!(
                        "{what}: unusable Docker-Content-Digest {h:?}: {e}"
                    ))
                })?),
                None => None,
            },
        };
        let digest = match expected {
            Some(expected) => {
                let actual = digest_of(&reply.body, expected.algorithm());
                if actual != expected {
                    return Err(StoreError::DigestMismatch {
                        what,
                        expected,
                        actual,
                    });
                }
                actual
            }
            None => Digest::sha256_of(&reply.body),
        };
        let media_type = reply
            .header(CONTENT_TYPE.as_str())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
            .filter(|m| super::is_manifest_media_type(m))
            .or_else(|| ManifestFacts::parse(&reply.body).media_type)
            .ok_or_else(|| StoreError::malformed(&what, "no manifest media type"))?;
        Ok(Some(ManifestBytes {
            digest,
            media_type,
            bytes: reply.body,
        }))
    }

    /// PUTs the exact bytes under `reference`; true when the registry
    /// answered `OCI-Subject` (it indexes referrers itself).
    async fn put_manifest_bytes(
        &self,
        manifest: &ManifestBytes,
        reference: &str,
    ) -> Result<bool, StoreError> {
        let req = Request::new(
            Method::PUT,
            self.http.url(&format!("manifests/{reference}")),
            Access::Push,
            format!("manifest {reference}"),
        )
        .header(CONTENT_TYPE, manifest.media_type.clone())
        .body(Bytes::from(manifest.bytes.clone()));
        let reply = self.http.exchange(&req, 0).await?;
        if reply.status != 201 && reply.status != 200 {
            if let Some(digest) = unknown_blob(&reply) {
                return Err(StoreError::BlobNotFound {
                    digest,
                    location: format!("{} (referenced by {})", self.location(), req.what),
                });
            }
            return Err(refusal(&self.http, &req.what, &reply));
        }
        if let Some(said) = reply.header("docker-content-digest") {
            if said != manifest.digest.to_string() {
                return Err(self.http.registry_error(format!(
                    "{}: the registry stored the manifest as {said}, not as the {} we computed",
                    req.what, manifest.digest
                )));
            }
        }
        Ok(reply.header("oci-subject").is_some())
    }

    /// PUTs each manifest (under its tag, else its digest); referrers the
    /// registry did not index itself get their own tag and, per subject,
    /// one update of the fallback index.
    /// Stores one manifest; for a referrer the registry does not index,
    /// also under its own tag, and returns its subject and index entry.
    async fn put_one_manifest(
        &self,
        manifest: &ManifestBytes,
        tag: &Option<String>,
    ) -> Result<Option<(Digest, Descriptor)>, StoreError> {
        let reference = tag.clone().unwrap_or_else(|| manifest.digest.to_string());
        let indexed_by_registry = self.put_manifest_bytes(manifest, &reference).await?;
        let facts = ManifestFacts::parse(&manifest.bytes);
        let Some(subject) = facts.subject.as_ref().map(|s| s.digest.clone()) else {
            return Ok(None);
        };
        if indexed_by_registry {
            self.referrers_api.store(API_YES, Ordering::SeqCst);
            return Ok(None);
        }
        // The registry does not index referrers: keep the tag schema.
        let own_tag = referrer_tag(&subject, &manifest.digest);
        self.put_manifest_bytes(manifest, &own_tag).await?;
        let entry = facts.referrer_descriptor(
            &manifest.media_type,
            manifest.digest.clone(),
            manifest.bytes.len() as u64,
        );
        Ok(Some((subject, entry)))
    }

    async fn put_manifests(
        &self,
        manifests: Vec<(ManifestBytes, Option<String>)>,
    ) -> Result<Vec<Descriptor>, StoreError> {
        // Each manifest (and its own referrer tag, which must follow it)
        // independently of the others; the fallback index after all of
        // them, its entries in the order given.
        let stored = futures_util::future::try_join_all(
            manifests
                .iter()
                .map(|(manifest, tag)| self.put_one_manifest(manifest, tag)),
        )
        .await?;
        let mut unindexed: Vec<(Digest, Vec<Descriptor>)> = Vec::new();
        for (subject, entry) in stored.into_iter().flatten() {
            match unindexed.iter_mut().find(|(s, _)| s == &subject) {
                Some((_, entries)) => entries.push(entry),
                None => unindexed.push((subject, vec![entry])),
            }
        }
        for (subject, entries) in &unindexed {
            self.enter_in_fallback(subject, entries).await?;
        }
        Ok(manifests.iter().map(|(m, _)| m.descriptor()).collect())
    }

    async fn tags(&self) -> Result<Vec<String>, StoreError> {
        #[derive(serde::Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut url = self.http.url(&format!("tags/list?n={TAGS_PER_PAGE}"));
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let what = "tag list".to_string();
            let req = Request::new(Method::GET, url.clone(), Access::Pull, what.clone());
            let reply = self.http.exchange(&req, MAX_MANIFEST_BYTES).await?;
            match reply.status {
                200 => {}
                // A repository nothing was pushed to yet has no tags.
                404 => return Ok(Vec::new()),
                _ => return Err(refusal(&self.http, &what, &reply)),
            }
            let page: TagList = serde_json::from_slice(&reply.body).map_err(|e| {
                StoreError::malformed(format!("tag list of {}", self.location()), e)
            })?;
            all.extend(page.tags.unwrap_or_default());
            match reply.header("link").and_then(next_link) {
                Some(next) => url = self.http.absolute(&next),
                None => {
                    all.sort();
                    all.dedup();
                    return Ok(all);
                }
            }
        }
        Err(self
            .http
            .registry_error(format!("tag list: more than {MAX_PAGES} pages")))
    }

    async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, StoreError> {
        if self.referrers_api.load(Ordering::SeqCst) != API_NO {
            if let Some(list) = self.referrers_api_list(subject, artifact_type).await? {
                return Ok(sort_referrers(list));
            }
            self.referrers_api.store(API_NO, Ordering::SeqCst);
        }
        let list = self.fallback_referrers(subject).await?;
        Ok(filter_artifact_type(list, artifact_type))
    }

    /// The referrers API's answer, or `None` when the registry has no such API.
    async fn referrers_api_list(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<Vec<Descriptor>>, StoreError> {
        let base = self.http.url(&format!("referrers/{subject}"));
        let mut url = match artifact_type {
            Some(t) => reqwest::Url::parse_with_params(&base, [("artifactType", t)])
                .map(String::from)
                .map_err(|e| self.http.registry_error(format!("referrers URL: {e}")))?,
            None => base,
        };
        let what = format!("referrers of {subject} in {}", self.location());
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let req = Request::new(Method::GET, url.clone(), Access::Pull, what.clone());
            let reply = self.http.exchange(&req, MAX_MANIFEST_BYTES).await?;
            match reply.status {
                200 => {}
                // A registry with the API that has no such repository yet:
                // nothing refers to anything there.
                404 if error_code(&reply) == Some("NAME_UNKNOWN") => return Ok(Some(Vec::new())),
                // No referrers API (distribution 2.8: "404 page not found").
                404 if page == 0 => return Ok(None),
                _ => return Err(refusal(&self.http, &what, &reply)),
            }
            self.referrers_api.store(API_YES, Ordering::SeqCst);
            let mut list = fallback::parse_index(&reply.body, &what)?;
            let filtered = reply
                .header("oci-filters-applied")
                .is_some_and(|v| v.split(',').any(|f| f.trim() == "artifactType"));
            if !filtered {
                list = filter_artifact_type(list, artifact_type);
            }
            all.extend(list);
            match reply.header("link").and_then(next_link) {
                Some(next) => url = self.http.absolute(&next),
                None => return Ok(Some(all)),
            }
        }
        Err(self
            .http
            .registry_error(format!("{what}: more than {MAX_PAGES} pages")))
    }

    /// The fallback index of `subject` (empty when there is none).
    async fn read_fallback_index(&self, subject: &Digest) -> Result<Vec<Descriptor>, StoreError> {
        let tag = ManifestRef::Tag(fallback_tag(subject));
        match self.fetch_manifest(&tag).await? {
            None => Ok(Vec::new()),
            Some(m) => fallback::parse_index(
                &m.bytes,
                &format!("referrers fallback index {tag} in {}", self.location()),
            ),
        }
    }

    /// Referrers of `subject` that carry their own tag, except those in `known`.
    async fn tagged_referrers(
        &self,
        subject: &Digest,
        known: &[Descriptor],
    ) -> Result<Vec<Descriptor>, StoreError> {
        let mut found = Vec::new();
        for tag in self.tags().await? {
            let Some(hex) = referrer_tag_hex(&tag, subject) else {
                continue;
            };
            if known.iter().any(|d| d.digest.hex().starts_with(hex)) {
                continue;
            }
            let Some(m) = self.fetch_manifest(&ManifestRef::Tag(tag.clone())).await? else {
                continue; // deleted since the listing
            };
            let facts = ManifestFacts::parse(&m.bytes);
            // A tag that claims a subject its manifest does not have is ignored.
            if facts.subject.as_ref().map(|s| &s.digest) != Some(subject)
                || !m.digest.hex().starts_with(hex)
            {
                tracing::warn!(
                    "tag {tag} in {} is not a referrer of {subject}",
                    self.location()
                );
                continue;
            }
            let size = m.bytes.len() as u64;
            found.push(facts.referrer_descriptor(&m.media_type, m.digest, size));
        }
        Ok(found)
    }

    async fn fallback_referrers(&self, subject: &Digest) -> Result<Vec<Descriptor>, StoreError> {
        let mut list = self.read_fallback_index(subject).await?;
        let tagged = self.tagged_referrers(subject, &list).await?;
        list.extend(tagged);
        Ok(sort_referrers(list))
    }

    /// Read-modify-write of the fallback index with repair: write, read
    /// back with a fresh tag list, and rewrite until the index holds every
    /// referrer tagged so far — so the last writer always leaves a complete
    /// index, however writers interleave (docs/architecture.md). Pauses
    /// only once another writer was seen, to let it finish.
    async fn enter_in_fallback(
        &self,
        subject: &Digest,
        entries: &[Descriptor],
    ) -> Result<(), StoreError> {
        let tag = fallback_tag(subject);
        let mut contended = false;
        for round in 1..=MAX_REPAIR_ROUNDS {
            if contended {
                let pause = self.policy.base_delay.min(Duration::from_millis(50));
                tokio::time::sleep(pause / 2 + pause.mul_f64(fastrand::f64() / 2.0)).await;
            }
            let current = self.read_fallback_index(subject).await?;
            // Ours are tagged too: no need to fetch them back.
            let mut known = current.clone();
            known.extend_from_slice(entries);
            let mut wanted = self.tagged_referrers(subject, &known).await?;
            wanted.extend_from_slice(entries);
            let missing = fallback::missing(&current, &wanted);
            if missing.is_empty() {
                return Ok(());
            }
            if round > 1 {
                contended = true;
                tracing::debug!(
                    "fallback index {tag}: {} referrer(s) lost to a concurrent writer; repairing",
                    missing.len()
                );
            }
            let mut merged = current;
            merged.extend(missing);
            let bytes = fallback::render_index(&merged)?;
            let index = ManifestBytes {
                digest: Digest::sha256_of(&bytes),
                media_type: MEDIA_OCI_INDEX.to_string(),
                bytes,
            };
            check_manifest(&index.bytes, &index.media_type)?;
            self.put_manifest_bytes(&index, &tag).await?;
        }
        Err(self.http.registry_error(format!(
            "referrers fallback index {tag}: still incomplete after {MAX_REPAIR_ROUNDS} rounds of \
             repair (too many concurrent writers?); the referrer itself is stored and tagged"
        )))
    }
}

/// The first error code of a registry's error envelope.
fn error_code(reply: &Reply) -> Option<&'static str> {
    let text = std::str::from_utf8(&reply.body).ok()?;
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let code = value.get("errors")?.get(0)?.get("code")?.as_str()?;
    ["NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN"]
        .into_iter()
        .find(|known| *known == code)
}

/// The digest a registry names when it refuses a manifest for a blob it
/// does not have (`MANIFEST_BLOB_UNKNOWN` / `BLOB_UNKNOWN`, digest in `detail`).
fn unknown_blob(reply: &Reply) -> Option<Digest> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        code: String,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        detail: Option<serde_json::Value>,
    }
    let envelope: Envelope = serde_json::from_slice(&reply.body).ok()?;
    envelope.errors.iter().find_map(|e| {
        if e.code != "MANIFEST_BLOB_UNKNOWN" && e.code != "BLOB_UNKNOWN" {
            return None;
        }
        // distribution puts the digest in `detail`, others in the message.
        let detail = e.detail.as_ref().map(|d| d.to_string()).unwrap_or_default();
        let message = e.message.as_deref().unwrap_or_default();
        [detail.as_str(), message].iter().find_map(|text| {
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
                .find_map(|word| word.parse::<Digest>().ok())
        })
    })
}

/// `<URL>; rel="next"` from a Link header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_blob_digests() {
        let d = Digest::sha256_of(b"x");
        let reply = |body: String| Reply {
            status: 400,
            headers: Default::default(),
            body: body.into_bytes(),
            stream: None,
        };
        let dist = format!(
            r#"{{"errors":[{{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"{d}"}}]}}"#
        );
        assert_eq!(unknown_blob(&reply(dist)), Some(d.clone()));
        let other = format!(
            r#"{{"errors":[{{"code":"MANIFEST_BLOB_UNKNOWN","message":"referenced blob {d} not present"}}]}}"#
        );
        assert_eq!(unknown_blob(&reply(other)), Some(d.clone()));
        let unrelated = format!(r#"{{"errors":[{{"code":"DENIED","message":"{d}"}}]}}"#);
        assert_eq!(unknown_blob(&reply(unrelated)), None);
        assert_eq!(unknown_blob(&reply("<html>".into())), None);
    }

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(r#"</v2/r/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/r/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"<http://x/y>; rel="prev""#), None);
        assert_eq!(
            next_link(r#"<a>; rel="prev", <b>; rel=next"#).as_deref(),
            Some("b")
        );
    }
}
