//! `stella attest IMAGE --type T --key K` and `stella verify IMAGE --key PUB`:
//! signed in-toto attestations (DSSE envelopes, `stella-attest`) stored
//! next to the image they are about.
//!
//! Where they go: an image-spec 1.1 referrer of the image's platform
//! manifest (the one `stella scan` reads for the same `--platform`) with
//! `artifactType` and layer media type `application/vnd.dsse.envelope.v1+json`
//! and the annotation `in-toto.io/predicate-type`; with `--cosign-compat`
//! also cosign's tag layout (`sha256-<hex>.att`, one layer per attestation,
//! merged with what is there); with `--bundle FILE` a Sigstore bundle v0.3.
//! With `--rekor-url` the envelope is logged first ([`tlog`]) and the
//! referrer is a Sigstore bundle carrying the verified log entry.
//!
//! `stella verify` reads both places (referrers of the platform manifest
//! and of the index it was picked from, and their `.att` tags), verifies
//! every envelope offline against the given public keys (and, with
//! `--rekor-key`, the log entries they carry), and says for each why it was
//! accepted or rejected. Exit codes: see [`verify`].

pub mod bench;
mod cosign_tag;
mod discover;
mod predicate;
pub mod tlog;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;
use stella_attest::bundle::{Bundle, BUNDLE_V03_MEDIA_TYPE};
use stella_attest::dsse::ENVELOPE_MEDIA_TYPE;
use stella_attest::keys::{SigningKey, VerifyingKey};
use stella_attest::predicates::image_statement;
use stella_attest::sign::sign_statement;
use stella_attest::statement::{predicate_type_for, PREDICATE_VERDICT};
use stella_registry_store::oci::Descriptor;
use stella_registry_store::{
    attach, open_target, ArtifactBlob, ArtifactStore, SourceSpec, StoreOptions,
};

use crate::artifacts::{ImageArgs, ListFormat, EXIT_NOT_FOUND};

pub use discover::Verdict;

/// Annotation (manifest and layer) naming the statement's predicate type,
/// as BuildKit's attestation manifests carry it.
pub const ANNOTATION_PREDICATE_TYPE: &str = "in-toto.io/predicate-type";
/// Annotation naming the tool that wrote an artifact.
const ANNOTATION_TOOL: &str = "dev.stellaops.tool";
/// Annotation with the artifact's own time (never the wall clock).
const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// The envelope layer's file name for `oras pull`.
const ENVELOPE_TITLE: &str = "attestation.dsse.json";
/// Key files are small; anything bigger is not a key.
const MAX_KEY_BYTES: u64 = 64 * 1024;

/// Exit code of `stella verify` when an attestation was found and rejected
/// (tampered, wrong key, other image), or none verifies.
pub const EXIT_REJECTED: u8 = 4;

#[derive(Args)]
pub struct AttestArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// Predicate type: cyclonedx, spdx, verdict, bom-index, a cosign short
    /// name (slsaprovenance, vuln, custom, openvex, link…) or a URI.
    #[arg(long = "type", value_name = "TYPE")]
    pub predicate_type: String,
    /// Signing key: PKCS#8 or SEC1 PEM (ECDSA P-256, Ed25519), or a
    /// cosign.key (password from COSIGN_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The predicate (JSON; for bom-index also a .bomidx file). Default: the
    /// newest SBOM / verdict / BOM-Index `stella scan --attach` attached.
    #[arg(long, value_name = "FILE")]
    pub predicate: Option<PathBuf>,
    /// Also store the attestation in cosign's tag layout (`sha256-<hex>.att`),
    /// which `cosign verify-attestation` reads (registries only).
    #[arg(long = "cosign-compat")]
    pub cosign_compat: bool,
    /// Also write the attestation as a Sigstore bundle v0.3 to FILE.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Do not push the OCI 1.1 referrer (with --cosign-compat or --bundle).
    #[arg(long = "no-referrer")]
    pub no_referrer: bool,
    /// Submit the signed envelope to this Rekor v1 transparency log, verify
    /// the returned entry offline and keep it in the Sigstore bundle (the
    /// referrer is then a Sigstore bundle v0.3). Without it nothing leaves
    /// the machine.
    #[arg(long = "rekor-url", value_name = "URL")]
    pub rekor_url: Option<String>,
    /// The log's public key (SPKI PEM). Without it the key the log serves
    /// is used: trust on first use, reported as such.
    #[arg(long = "rekor-key", value_name = "FILE", requires = "rekor_url")]
    pub rekor_key: Option<PathBuf>,
    /// Entry kind: dsse (default, as cosign 2.5 attest) or intoto.
    #[arg(long = "rekor-entry-type", value_enum, requires = "rekor_url")]
    pub rekor_entry_type: Option<tlog::EntryType>,
    /// table (default) or json.
    #[arg(short = 'o', long = "output", alias = "format", value_enum, default_value_t = ListFormat::Table)]
    pub output: ListFormat,
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// A trusted public key (SPKI PEM, e.g. cosign.pub). Repeatable: an
    /// envelope verifies when any key verifies one of its signatures.
    #[arg(long = "key", value_name = "FILE", required = true)]
    pub keys: Vec<PathBuf>,
    /// Only attestations of this predicate type (short name or URI).
    #[arg(long = "type", value_name = "TYPE")]
    pub predicate_type: Option<String>,
    /// A transparency log's public key (SPKI PEM): the log entries the
    /// attestations carry (Sigstore bundles) are verified offline against
    /// it, and a bad one rejects its attestation.
    #[arg(long = "rekor-key", value_name = "FILE")]
    pub rekor_key: Option<PathBuf>,
    /// Reject attestations without a verified log entry.
    #[arg(long = "require-tlog", requires = "rekor_key")]
    pub require_tlog: bool,
    /// Also judge this Sigstore bundle file (what `stella attest --bundle`
    /// or cosign wrote) as an attestation of IMAGE. Repeatable.
    #[arg(long = "bundle", value_name = "FILE")]
    pub bundles: Vec<PathBuf>,
    /// table (default) or json.
    #[arg(short = 'o', long = "output", alias = "format", value_enum, default_value_t = ListFormat::Table)]
    pub output: ListFormat,
}

/// An image opened for attestations: its store, the platform manifest,
/// the index above it (if the reference named one) and the statement's
/// subject name.
struct Image {
    store: Box<dyn ArtifactStore>,
    manifest: Descriptor,
    index: Option<Descriptor>,
    subject_name: String,
    is_registry: bool,
}

/// Opens IMAGE (`oci-dir:` or a registry; a layout is never created) and
/// resolves it to its platform manifest, as `stella scan` does.
fn open_image(args: &ImageArgs) -> anyhow::Result<Image> {
    let source = &args.image;
    let is_registry = match SourceSpec::parse(source)? {
        SourceSpec::OciDir { path, .. } => {
            if !path.join("oci-layout").is_file() {
                bail!("{source}: {} is not an OCI image layout", path.display());
            }
            false
        }
        SourceSpec::Registry { .. } => true,
        _ => bail!("{source}: attestations live in an OCI layout (oci-dir:PATH) or a registry"),
    };
    let open = args.open_options()?;
    let target = open_target(source, &StoreOptions::from(&open))
        .with_context(|| format!("opening {source}"))?;
    let image = target
        .image(&open.platform, source)
        .with_context(|| format!("opening {source}"))?;
    let subject_name = subject_name(&target.store.location(), target.name.clone());
    let index = (image.top.digest != image.manifest.digest).then(|| image.top.descriptor().plain());
    Ok(Image {
        store: target.store,
        manifest: image.manifest,
        index,
        subject_name,
        is_registry,
    })
}

/// The statement's subject name: cosign's `registry/repository`; a layout
/// has no repository, so its image's ref name (or the directory's name)
/// stands in.
fn subject_name(location: &str, name: Option<String>) -> String {
    match location.strip_prefix("registry ") {
        Some(repository) => repository.to_string(),
        None => name.unwrap_or_else(|| {
            let path = location.trim_start_matches("OCI layout ");
            Path::new(path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.to_string())
        }),
    }
}

/// Reads a key file (size-capped): the bytes and a message prefix.
fn read_key_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading key {}", path.display()))?
        .len();
    if size > MAX_KEY_BYTES {
        bail!(
            "{}: {size} bytes, too large to be a key (limit {MAX_KEY_BYTES})",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("reading key {}", path.display()))
}

/// The signing key; an encrypted cosign key takes COSIGN_PASSWORD (set but
/// empty means the empty password, as for cosign).
pub fn load_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let pem = read_key_file(path)?;
    let password = std::env::var_os("COSIGN_PASSWORD").map(|p| p.into_encoded_bytes());
    SigningKey::from_pem(&pem, password.as_deref())
        .with_context(|| format!("signing key {}", path.display()))
}

fn load_verifying_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<VerifyingKey>> {
    paths
        .iter()
        .map(|path| {
            VerifyingKey::from_pem(&read_key_file(path)?)
                .with_context(|| format!("public key {}", path.display()))
        })
        .collect()
}

/// Public keys and the names they are reported by (their paths).
#[derive(Default)]
pub struct TrustedKeys {
    keys: Vec<VerifyingKey>,
    names: Vec<String>,
}

impl TrustedKeys {
    pub fn load(paths: &[PathBuf]) -> anyhow::Result<TrustedKeys> {
        Ok(TrustedKeys {
            keys: load_verifying_keys(paths)?,
            names: paths.iter().map(|p| p.display().to_string()).collect(),
        })
    }
}

/// One attestation of a kind a reader asked for, attached to a subject:
/// the manifest holding it, and its statement when one of the keys
/// verified it (signature, subject = that manifest's subject, predicate
/// type as claimed), else the stable code and reason why not.
pub struct SignedStatement {
    pub artifact: Descriptor,
    pub statement: Result<stella_attest::statement::Statement, (&'static str, String)>,
}

/// The attestations attached to `subject` (Stella DSSE referrers, Sigstore
/// bundle referrers, cosign's `.att` tag) whose predicate type — signed, or
/// claimed when unverifiable — `wanted` accepts, each verified with `keys`
/// as `stella verify` does. What signed VEX discovery reads.
pub fn signed_statements(
    store: &dyn ArtifactStore,
    subject: &stella_model::Digest,
    keys: &TrustedKeys,
    wanted: impl Fn(&str) -> bool,
) -> anyhow::Result<Vec<SignedStatement>> {
    let found = discover::find_claimed(store, std::slice::from_ref(subject), &wanted)?;
    let checked = discover::verify_all(found, &keys.keys, &keys.names, None, None);
    Ok(checked
        .into_iter()
        .filter(|c| c.predicate_type.as_deref().is_some_and(&wanted))
        .map(|c| SignedStatement {
            artifact: c.artifact,
            statement: match (c.verdict, c.statement) {
                (discover::Verdict::Verified, Some(statement)) => Ok(statement),
                _ => Err((c.code, c.reason)),
            },
        })
        .collect())
}

/// Bundles with embedded SBOMs can be large, not unbounded.
const MAX_BUNDLE_BYTES: u64 = 256 << 20;

fn read_bundle_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading bundle {}", path.display()))?
        .len();
    if size > MAX_BUNDLE_BYTES {
        bail!(
            "{}: {size} bytes, larger than a bundle may be (limit {MAX_BUNDLE_BYTES})",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("reading bundle {}", path.display()))
}

/// `SOURCE_DATE_EPOCH` as an RFC 3339 time, when set.
fn epoch_time() -> anyhow::Result<Option<String>> {
    Ok(crate::scan::source_date_epoch()?.map(crate::scan::timestamp_of))
}

/// What `stella attest` pushed or wrote.
#[derive(Debug, Serialize)]
struct AttestReport {
    image: String,
    /// The platform manifest: the statement's subject.
    subject: Descriptor,
    #[serde(rename = "subjectName")]
    subject_name: String,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    /// Where the predicate came from: a file, or `LOCATION@ARTIFACT`.
    #[serde(rename = "predicateSource")]
    predicate_source: String,
    /// The signing key's id (sha256 of its SPKI DER, hex) and algorithm.
    #[serde(rename = "keyId")]
    key_id: String,
    algorithm: String,
    /// The DSSE envelope blob.
    envelope: Descriptor,
    #[serde(skip_serializing_if = "Option::is_none")]
    referrer: Option<Descriptor>,
    #[serde(rename = "cosignTag", skip_serializing_if = "Option::is_none")]
    cosign_tag: Option<cosign_tag::Pushed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bundle: Option<String>,
    /// The transparency log entry (with --rekor-url).
    #[serde(skip_serializing_if = "Option::is_none")]
    tlog: Option<tlog::Logged>,
}

/// `stella attest`: exit 0 when everything asked for was written; 1 on
/// any error (nothing about the image is half-written except that a
/// referrer pushed before a failing `.att` update stays).
pub fn attest(args: AttestArgs) -> anyhow::Result<u8> {
    let predicate_type = predicate_type_for(&args.predicate_type)?.to_string();
    if args.no_referrer && !args.cosign_compat && args.bundle.is_none() {
        bail!("--no-referrer leaves nothing to write: add --cosign-compat or --bundle FILE");
    }
    let key = load_signing_key(&args.key)?;
    let image = open_image(&args.image)?;
    if args.cosign_compat && !image.is_registry {
        bail!(
            "{}: --cosign-compat writes cosign's registry tag layout; an OCI layout would gain a \
             second tagged image (use a registry:REF, or drop --cosign-compat)",
            args.image.image
        );
    }
    let found = match &args.predicate {
        Some(path) => predicate::from_file(path, &predicate_type)?,
        None => predicate::from_referrers(image.store.as_ref(), &image.manifest, &predicate_type)?,
    };
    let statement = image_statement(
        &image.subject_name,
        &image.manifest.digest.to_string(),
        &predicate_type,
        found.predicate,
    );
    let envelope = sign_statement(&statement, &key).context("signing the statement")?;
    let envelope_json = envelope.to_json();
    let envelope_blob = envelope_blob(envelope_json.clone(), &predicate_type);
    // The log first: if it fails or answers with an entry that does not
    // verify, nothing has been written.
    let logged = match &args.rekor_url {
        Some(url) => Some(tlog::submit(
            url,
            args.rekor_key.as_ref(),
            args.rekor_entry_type.unwrap_or(tlog::EntryType::Dsse),
            &envelope,
            &envelope_json,
            &key.verifying_key(),
        )?),
        None => None,
    };
    let (log_entry, logged) = match logged {
        Some((entry, report)) => (Some(entry), Some(report)),
        None => (None, None),
    };
    let mut bundle = Bundle::new(envelope, key.verifying_key().bundle_hint());
    if let Some(entry) = &log_entry {
        bundle.tlog_entries.push(entry.to_bundle_tlog_entry());
    }
    let mut report = AttestReport {
        image: args.image.image.clone(),
        subject: image.manifest.clone(),
        subject_name: image.subject_name.clone(),
        predicate_type: predicate_type.clone(),
        predicate_source: found.source,
        key_id: key.verifying_key().key_id(),
        algorithm: key.algorithm().to_string(),
        envelope: envelope_blob.descriptor(),
        referrer: None,
        cosign_tag: None,
        bundle: None,
        tlog: logged,
    };
    if !args.no_referrer {
        let created = epoch_time()?.or(found.created);
        // With a log entry the referrer is the bundle (a DSSE referrer has
        // nowhere to keep the entry), as cosign --new-bundle-format pushes it.
        let attached = if report.tlog.is_some() {
            attach_bundle(
                image.store.as_ref(),
                &image.manifest,
                bundle.to_json(),
                &predicate_type,
                created,
            )?
        } else {
            attach_envelope(
                image.store.as_ref(),
                &image.manifest,
                envelope_blob,
                &predicate_type,
                created,
            )?
        };
        report.referrer = Some(attached);
    }
    if args.cosign_compat {
        let log_bundle = log_entry.as_ref().map(|e| e.to_cosign_bundle_annotation());
        report.cosign_tag = Some(cosign_tag::push(
            image.store.as_ref(),
            &image.manifest.digest,
            &envelope_json,
            &predicate_type,
            log_bundle.as_deref(),
        )?);
    }
    if let Some(path) = &args.bundle {
        write_file(path, &bundle.to_json())?;
        report.bundle = Some(path.display().to_string());
    }
    print_attest_report(&report, args.output)?;
    Ok(0)
}

/// The envelope as a referrer layer: titled for `oras pull`, annotated
/// with its predicate type.
fn envelope_blob(envelope_json: Vec<u8>, predicate_type: &str) -> ArtifactBlob {
    let mut blob = ArtifactBlob::new(ENVELOPE_MEDIA_TYPE, envelope_json).titled(ENVELOPE_TITLE);
    blob.annotations.insert(
        ANNOTATION_PREDICATE_TYPE.to_string(),
        predicate_type.to_string(),
    );
    blob
}

/// Annotations cosign puts on a Sigstore bundle referrer.
const ANNOTATION_BUNDLE_CONTENT: &str = "dev.sigstore.bundle.content";
const ANNOTATION_BUNDLE_PREDICATE_TYPE: &str = "dev.sigstore.bundle.predicateType";
/// The bundle layer's file name for `oras pull`.
const BUNDLE_TITLE: &str = "attestation.sigstore.json";

/// Attaches a Sigstore bundle v0.3 (holding a DSSE envelope) to `subject`
/// as cosign `--new-bundle-format` does: artifact type and layer media
/// type the bundle media type, cosign's annotations plus ours.
fn attach_bundle(
    store: &dyn ArtifactStore,
    subject: &Descriptor,
    bundle_json: Vec<u8>,
    predicate_type: &str,
    created: Option<String>,
) -> anyhow::Result<Descriptor> {
    let mut blob = ArtifactBlob::new(BUNDLE_V03_MEDIA_TYPE, bundle_json).titled(BUNDLE_TITLE);
    blob.annotations.insert(
        ANNOTATION_PREDICATE_TYPE.to_string(),
        predicate_type.to_string(),
    );
    let mut annotations = referrer_annotations(predicate_type, created);
    annotations.insert(
        ANNOTATION_BUNDLE_CONTENT.to_string(),
        "dsse-envelope".to_string(),
    );
    annotations.insert(
        ANNOTATION_BUNDLE_PREDICATE_TYPE.to_string(),
        predicate_type.to_string(),
    );
    attach(store, subject, BUNDLE_V03_MEDIA_TYPE, &[blob], &annotations).with_context(|| {
        format!(
            "attaching the attestation bundle to {} in {}",
            subject.digest,
            store.location()
        )
    })
}

/// Attaches an envelope to `subject` as a DSSE referrer.
fn attach_envelope(
    store: &dyn ArtifactStore,
    subject: &Descriptor,
    blob: ArtifactBlob,
    predicate_type: &str,
    created: Option<String>,
) -> anyhow::Result<Descriptor> {
    let annotations = referrer_annotations(predicate_type, created);
    attach(store, subject, ENVELOPE_MEDIA_TYPE, &[blob], &annotations).with_context(|| {
        format!(
            "attaching the attestation to {} in {}",
            subject.digest,
            store.location()
        )
    })
}

/// The manifest annotations of every attestation referrer.
fn referrer_annotations(predicate_type: &str, created: Option<String>) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::from([
        (
            ANNOTATION_PREDICATE_TYPE.to_string(),
            predicate_type.to_string(),
        ),
        (
            ANNOTATION_TOOL.to_string(),
            format!("stella {}", env!("CARGO_PKG_VERSION")),
        ),
    ]);
    if let Some(created) = created {
        annotations.insert(ANNOTATION_CREATED.to_string(), created);
    }
    annotations
}

/// `stella scan --attach --sign-key`: the verdict, signed as an in-toto
/// statement about the scanned manifest (predicate type verdict), attached
/// as a DSSE referrer next to the plain verdict.
pub fn attach_signed_verdict(
    subject: &crate::artifacts::Subject,
    image_name: Option<String>,
    verdict: &stella_model::Verdict,
    key: &SigningKey,
    created: &str,
    quiet: bool,
) -> anyhow::Result<Descriptor> {
    let name = subject_name(&subject.store.location(), image_name);
    let predicate = serde_json::to_value(verdict).context("writing the verdict")?;
    let statement = image_statement(
        &name,
        &subject.descriptor.digest.to_string(),
        PREDICATE_VERDICT,
        predicate,
    );
    let envelope = sign_statement(&statement, key).context("signing the verdict")?;
    let attached = attach_envelope(
        subject.store.as_ref(),
        &subject.descriptor,
        envelope_blob(envelope.to_json(), PREDICATE_VERDICT),
        PREDICATE_VERDICT,
        Some(created.to_string()),
    )?;
    if !quiet {
        eprintln!(
            "attached signed verdict attestation {} (key {}) to {}",
            attached.digest,
            key.verifying_key().key_id(),
            subject.descriptor.digest
        );
    }
    Ok(attached)
}

fn print_attest_report(report: &AttestReport, format: ListFormat) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, report)?;
            writeln!(stdout)?;
        }
        ListFormat::Table => {
            let mut rows: Vec<[String; 3]> = vec![["WHAT", "DIGEST", "WHERE"].map(String::from)];
            rows.push([
                "subject".into(),
                report.subject.digest.to_string(),
                report.subject_name.clone(),
            ]);
            rows.push([
                "envelope".into(),
                report.envelope.digest.to_string(),
                format!("{} bytes", report.envelope.size),
            ]);
            if let Some(r) = &report.referrer {
                rows.push([
                    "referrer".into(),
                    r.digest.to_string(),
                    r.artifact_type
                        .clone()
                        .unwrap_or_else(|| ENVELOPE_MEDIA_TYPE.to_string()),
                ]);
            }
            if let Some(c) = &report.cosign_tag {
                rows.push([
                    "cosign-tag".into(),
                    c.manifest.to_string(),
                    format!("{} ({} layers)", c.tag, c.layers),
                ]);
            }
            if let Some(b) = &report.bundle {
                rows.push(["bundle".into(), "-".into(), b.clone()]);
            }
            if let Some(t) = &report.tlog {
                let key = match t.log_key {
                    tlog::KeySource::Pinned => "log key pinned".to_string(),
                    tlog::KeySource::TrustOnFirstUse => "log key TRUSTED ON FIRST USE".to_string(),
                };
                rows.push([
                    "tlog".into(),
                    t.uuid.clone().unwrap_or_else(|| "-".into()),
                    format!(
                        "{} index {} in {} ({}, {}, verified)",
                        t.kind, t.log_index, t.url, t.log_id, key
                    ),
                ]);
            }
            writeln!(
                stdout,
                "attested {} ({}) with key {} ({}), predicate from {}",
                report.predicate_type,
                report.image,
                report.key_id,
                report.algorithm,
                report.predicate_source
            )?;
            stdout.write_all(crate::output::aligned(&rows).as_bytes())?;
        }
    }
    Ok(())
}

/// Writes through a temporary file beside `path`.
fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// `stella verify`. Exit codes:
/// - 0: at least one attestation (of `--type`, when given) verified and
///   none (of that type) was rejected;
/// - 3: no attestation (of that type) is attached at all;
/// - 4: at least one (of that type) was rejected — tampered blob or
///   payload, a signature no given key verifies, a statement about another
///   image, a predicate type other than its annotation claims; with
///   `--rekor-key` a log entry that does not verify, with `--require-tlog`
///   a missing one;
/// - 1: the check could not be made (unreadable key, registry error).
pub fn verify(args: VerifyArgs) -> anyhow::Result<u8> {
    let keys = load_verifying_keys(&args.keys)?;
    let tlog_policy = args
        .rekor_key
        .as_deref()
        .map(|path| tlog::TlogPolicy::load(path, args.require_tlog))
        .transpose()?;
    let wanted = args
        .predicate_type
        .as_deref()
        .map(predicate_type_for)
        .transpose()?
        .map(str::to_string);
    let image = open_image(&args.image)?;
    let mut subjects = vec![image.manifest.digest.clone()];
    subjects.extend(image.index.iter().map(|d| d.digest.clone()));
    let mut found = discover::find_all(image.store.as_ref(), &subjects)?;
    for path in &args.bundles {
        let bytes = read_bundle_file(path)?;
        found.push(discover::found_in_bundle_file(
            &path.display().to_string(),
            &bytes,
            &image.manifest.digest,
        ));
    }
    let key_names: Vec<String> = args.keys.iter().map(|p| p.display().to_string()).collect();
    let results = discover::verify_all(
        found,
        &keys,
        &key_names,
        wanted.as_deref(),
        tlog_policy.as_ref(),
    );
    let verified = results
        .iter()
        .filter(|r| r.verdict == Verdict::Verified)
        .count();
    let rejected = results
        .iter()
        .filter(|r| r.verdict == Verdict::Rejected)
        .count();
    let considered = verified + rejected;
    let (code, outcome) = if considered == 0 {
        (EXIT_NOT_FOUND, "no-attestation")
    } else if rejected > 0 {
        (EXIT_REJECTED, "rejected")
    } else {
        (0, "verified")
    };
    let report = discover::VerifyReport {
        schema: "stella-verify@1",
        image: args.image.image.clone(),
        subject: image.manifest.clone(),
        index: image.index.as_ref().map(|d| d.digest.to_string()),
        predicate_type: wanted.clone(),
        tlog: tlog_policy.as_ref().map(|p| discover::TlogSettings {
            key: args
                .rekor_key
                .as_ref()
                .map(|k| k.display().to_string())
                .unwrap_or_default(),
            log_id: stella_attest::transparency::to_hex(&p.log.key.log_id()),
            required: p.require,
        }),
        outcome,
        verified,
        rejected,
        skipped: results.len() - considered,
        attestations: results,
    };
    let mut stdout = std::io::stdout().lock();
    match args.output {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &report)?;
            writeln!(stdout)?;
        }
        ListFormat::Table => stdout.write_all(report.table().as_bytes())?,
    }
    stdout.flush()?;
    if code == EXIT_NOT_FOUND {
        eprintln!(
            "stella: no {}attestation is attached to {} in {} (referrers and cosign .att tag)",
            wanted
                .as_deref()
                .map(|t| format!("{t} "))
                .unwrap_or_default(),
            image.manifest.digest,
            image.store.location()
        );
    }
    Ok(code)
}
