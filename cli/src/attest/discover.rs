//! Finding the attestations of an image and judging each: DSSE referrers
//! (Stella's), Sigstore bundle referrers (cosign's `--new-bundle-format`)
//! and cosign's `sha256-<hex>.att` tag. Every manifest and blob is
//! digest-checked by the store; a blob that fails the check is a rejected
//! attestation (someone changed it), not an error of the command.

use serde::Serialize;
use serde_json::Value;
use stella_attest::bundle::{Bundle, BundleError, BUNDLE_V03_MEDIA_TYPE};
use stella_attest::dsse::ENVELOPE_MEDIA_TYPE;
use stella_attest::keys::VerifyingKey;
use stella_attest::sign::{verify_attestation, Expect, VerifyError};
use stella_attest::statement::{Statement, StatementError, SHORT_NAMES};
use stella_model::Digest;
use stella_registry_store::oci::Descriptor;
use stella_registry_store::{ArtifactStore, ManifestRef, StoreError};

use super::tlog::{check_entries, Evidence, TlogPolicy, TlogState, TlogStatus};
use super::{cosign_tag, ANNOTATION_PREDICATE_TYPE};

/// Envelopes (with embedded SBOMs) larger than this are not read.
const MAX_ENVELOPE_BYTES: u64 = 256 << 20;

/// Where an attestation was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// A DSSE envelope referrer (`stella attest`).
    Referrer,
    /// A Sigstore bundle referrer (cosign `--new-bundle-format`).
    BundleReferrer,
    /// cosign's `sha256-<hex>.att` tag.
    CosignTag,
    /// A Sigstore bundle file given with `stella verify --bundle`.
    BundleFile,
}

/// One attestation as found, before judging it.
pub struct Found {
    origin: Origin,
    /// The manifest it is attached to: what its subject must name.
    subject: Digest,
    /// The referrer's manifest, or the `.att` manifest.
    manifest: Descriptor,
    tag: Option<String>,
    layer: Option<Digest>,
    /// The predicate type the (unsigned) annotations claim.
    claimed_type: Option<String>,
    /// The envelope JSON, or why it could not be read.
    envelope: Result<Vec<u8>, Problem>,
    /// The transparency log entries it carries (bundles), uninterpreted.
    tlog_entries: Vec<Value>,
    /// The bundle file it was read from (`--bundle`).
    file: Option<String>,
    /// cosign's `dev.sigstore.cosign/bundle` annotation (`.att` layers).
    cosign_log_bundle: Option<String>,
}

/// Why an attestation is not verified: a stable code and the details.
#[derive(Debug, Clone)]
struct Problem {
    code: &'static str,
    detail: String,
}

impl Problem {
    fn new(code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            code,
            detail: detail.into(),
        }
    }
}

/// Store errors that mean the stored bytes are wrong (a rejected
/// attestation); anything else (network, auth, I/O) stops the command.
fn content_problem(e: StoreError) -> Result<Problem, StoreError> {
    match e {
        StoreError::DigestMismatch { .. } => {
            Ok(Problem::new("blob-digest-mismatch", e.to_string()))
        }
        StoreError::BlobNotFound { .. } | StoreError::NotFound { .. } => {
            Ok(Problem::new("missing-blob", e.to_string()))
        }
        StoreError::Malformed { .. } | StoreError::TooLarge { .. } => {
            Ok(Problem::new("malformed-artifact", e.to_string()))
        }
        other => Err(other),
    }
}

/// A blob's bytes, checked against its descriptor's size too.
fn read_blob(store: &dyn ArtifactStore, layer: &Descriptor) -> Result<Vec<u8>, StoreError> {
    if layer.size > MAX_ENVELOPE_BYTES {
        return Err(StoreError::TooLarge {
            what: format!("attestation blob {}", layer.digest),
            size: layer.size,
            limit: MAX_ENVELOPE_BYTES,
        });
    }
    let data = store.get_blob(&layer.digest, MAX_ENVELOPE_BYTES)?;
    if data.len() as u64 != layer.size {
        return Err(StoreError::Malformed {
            what: format!("attestation blob {}", layer.digest),
            reason: format!("{} bytes, its descriptor says {}", data.len(), layer.size),
        });
    }
    Ok(data)
}

/// Every attestation attached to each subject, in a stable order.
pub fn find_all(store: &dyn ArtifactStore, subjects: &[Digest]) -> anyhow::Result<Vec<Found>> {
    find_claimed(store, subjects, &|_| true)
}

/// [`find_all`] without the attestations whose artifact claims a predicate
/// type `wanted` refuses: their blobs are not read (an image's SBOM
/// attestations can be large). Unclaimed ones are read and judged.
pub fn find_claimed(
    store: &dyn ArtifactStore,
    subjects: &[Digest],
    wanted: &dyn Fn(&str) -> bool,
) -> anyhow::Result<Vec<Found>> {
    let mut out = Vec::new();
    for subject in subjects {
        find_referrers(store, subject, wanted, &mut out)?;
        find_cosign_tag(store, subject, wanted, &mut out)?;
    }
    Ok(out)
}

/// The parts of a referrer's manifest that say what it holds.
#[derive(serde::Deserialize)]
struct ArtifactManifest {
    #[serde(default, rename = "artifactType")]
    artifact_type: Option<String>,
    #[serde(default)]
    config: Option<ConfigDescriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
struct ConfigDescriptor {
    #[serde(default, rename = "artifactType")]
    artifact_type: Option<String>,
}

impl ArtifactManifest {
    /// What the manifest itself says it is (top-level `artifactType`, else
    /// the config descriptor's, as cosign writes it).
    fn origin(&self) -> Option<Origin> {
        origin_of(self.artifact_type.as_deref())
            .or_else(|| origin_of(self.config.as_ref()?.artifact_type.as_deref()))
    }

    fn claim(&self) -> Option<String> {
        self.annotations
            .get(ANNOTATION_PREDICATE_TYPE)
            .or_else(|| self.annotations.get(BUNDLE_PREDICATE_TYPE))
            .cloned()
    }
}

const EMPTY_JSON_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";

/// The kind of attestation referrer an artifact type names.
fn origin_of(artifact_type: Option<&str>) -> Option<Origin> {
    match artifact_type? {
        ENVELOPE_MEDIA_TYPE => Some(Origin::Referrer),
        BUNDLE_V03_MEDIA_TYPE => Some(Origin::BundleReferrer),
        _ => None,
    }
}

fn find_referrers(
    store: &dyn ArtifactStore,
    subject: &Digest,
    wanted: &dyn Fn(&str) -> bool,
    out: &mut Vec<Found>,
) -> anyhow::Result<()> {
    let referrers = store.referrers(subject, None)?;
    for referrer in referrers {
        let listed = origin_of(referrer.artifact_type.as_deref());
        // A referrers fallback index written by go-containerregistry (cosign)
        // lists its own bundle referrers with the config's media type
        // (google/go-containerregistry#1997): such entries are looked at.
        let ambiguous = matches!(
            referrer.artifact_type.as_deref(),
            None | Some(EMPTY_JSON_MEDIA_TYPE)
        );
        if listed.is_none() && !ambiguous {
            continue;
        }
        let listed_claim = referrer
            .annotations
            .get(ANNOTATION_PREDICATE_TYPE)
            .or_else(|| referrer.annotations.get(BUNDLE_PREDICATE_TYPE));
        if listed_claim.is_some_and(|c| !wanted(c)) {
            continue;
        }
        let fetched = store.get_manifest(&ManifestRef::Digest(referrer.digest.clone()));
        let parsed = fetched
            .as_ref()
            .ok()
            .and_then(|m| serde_json::from_slice::<ArtifactManifest>(&m.bytes).ok());
        let origin = match (listed, &parsed) {
            (Some(origin), _) => origin,
            (None, Some(m)) => match m.origin() {
                Some(origin) => origin,
                None => continue,
            },
            // Unreadable and not listed as an attestation: not ours to judge.
            (None, None) => continue,
        };
        let layer_type = match origin {
            Origin::BundleReferrer => BUNDLE_V03_MEDIA_TYPE,
            _ => ENVELOPE_MEDIA_TYPE,
        };
        let manifest_claim = referrer
            .annotations
            .get(ANNOTATION_PREDICATE_TYPE)
            .or_else(|| referrer.annotations.get(BUNDLE_PREDICATE_TYPE))
            .cloned()
            .or_else(|| parsed.as_ref().and_then(ArtifactManifest::claim));
        let base = |layer: Option<Digest>, claimed_type, envelope| Found {
            origin,
            subject: subject.clone(),
            manifest: referrer.clone(),
            tag: None,
            layer,
            claimed_type,
            envelope,
            tlog_entries: Vec::new(),
            file: None,
            cosign_log_bundle: None,
        };
        if let Err(e) = fetched {
            out.push(base(None, manifest_claim, Err(content_problem(e)?)));
            continue;
        }
        let layers = match parsed {
            Some(m) => m.layers,
            None => {
                let problem =
                    Problem::new("malformed-artifact", "manifest is not an image manifest");
                out.push(base(None, manifest_claim, Err(problem)));
                continue;
            }
        };
        let mut any = false;
        for layer in layers.iter().filter(|l| l.media_type == layer_type) {
            any = true;
            let claim = layer
                .annotations
                .get(ANNOTATION_PREDICATE_TYPE)
                .cloned()
                .or_else(|| manifest_claim.clone());
            if claim.as_deref().is_some_and(|c| !wanted(c)) {
                continue;
            }
            let mut tlog_entries = Vec::new();
            let envelope = match read_blob(store, layer) {
                Ok(bytes) if origin == Origin::BundleReferrer => {
                    envelope_of_bundle(&bytes).map(|(envelope, entries)| {
                        tlog_entries = entries;
                        envelope
                    })
                }
                Ok(bytes) => Ok(bytes),
                Err(e) => Err(content_problem(e)?),
            };
            let mut found = base(Some(layer.digest.clone()), claim, envelope);
            found.tlog_entries = tlog_entries;
            out.push(found);
        }
        if !any {
            let problem = Problem::new("malformed-artifact", format!("no {layer_type} layer"));
            out.push(base(None, manifest_claim, Err(problem)));
        }
    }
    Ok(())
}

/// A Sigstore bundle file (`stella verify --bundle FILE`), judged as an
/// attestation of `subject` (the image's platform manifest). `manifest`
/// is the file's own sha256.
pub fn found_in_bundle_file(path: &str, bytes: &[u8], subject: &Digest) -> Found {
    let manifest = Descriptor::new(
        BUNDLE_V03_MEDIA_TYPE,
        Digest::sha256_of(bytes),
        bytes.len() as u64,
    );
    let (envelope, tlog_entries) = match envelope_of_bundle(bytes) {
        Ok((envelope, entries)) => (Ok(envelope), entries),
        Err(problem) => (Err(problem), Vec::new()),
    };
    Found {
        origin: Origin::BundleFile,
        subject: subject.clone(),
        manifest,
        tag: None,
        layer: None,
        claimed_type: None,
        envelope,
        tlog_entries,
        file: Some(path.to_string()),
        cosign_log_bundle: None,
    }
}

/// The predicate-type annotation cosign puts on bundle referrers.
const BUNDLE_PREDICATE_TYPE: &str = "dev.sigstore.bundle.predicateType";

/// A bundle's envelope JSON and its transparency log entries.
fn envelope_of_bundle(bytes: &[u8]) -> Result<(Vec<u8>, Vec<Value>), Problem> {
    match Bundle::from_json(bytes) {
        Ok(bundle) => Ok((bundle.envelope.to_json(), bundle.tlog_entries)),
        Err(BundleError::NotDsse) => Err(Problem::new(
            "not-an-attestation",
            "a signature bundle (messageSignature), not an attestation",
        )),
        Err(e) => Err(Problem::new("malformed-bundle", e.to_string())),
    }
}

fn find_cosign_tag(
    store: &dyn ArtifactStore,
    subject: &Digest,
    wanted: &dyn Fn(&str) -> bool,
    out: &mut Vec<Found>,
) -> anyhow::Result<()> {
    let Some(manifest) = cosign_tag::fetch(store, subject)? else {
        return Ok(());
    };
    let tag = stella_attest::cosign_layout::attestation_tag(&subject.to_string())?;
    let base = |layer, claimed_type, envelope| Found {
        origin: Origin::CosignTag,
        subject: subject.clone(),
        manifest: Descriptor::new(
            manifest.media_type.clone(),
            manifest.digest.clone(),
            manifest.bytes.len() as u64,
        ),
        tag: Some(tag.clone()),
        layer,
        claimed_type,
        envelope,
        tlog_entries: Vec::new(),
        file: None,
        cosign_log_bundle: None,
    };
    let log_bundles = cosign_tag::bundle_annotations(&manifest);
    let layers = match cosign_tag::layers(&manifest) {
        Ok(l) => l,
        Err(e) => {
            let problem = Problem::new("malformed-artifact", format!("{e:#}"));
            out.push(base(None, None, Err(problem)));
            return Ok(());
        }
    };
    for layer in layers {
        if layer.predicate_type.as_deref().is_some_and(|c| !wanted(c)) {
            continue;
        }
        let digest: Result<Digest, _> = layer.digest.parse();
        let envelope = match &digest {
            Ok(d) => {
                let descriptor = Descriptor::new(ENVELOPE_MEDIA_TYPE, d.clone(), layer.size);
                match read_blob(store, &descriptor) {
                    Ok(bytes) => Ok(bytes),
                    Err(e) => Err(content_problem(e)?),
                }
            }
            Err(e) => Err(Problem::new(
                "malformed-artifact",
                format!("layer digest {:?}: {e}", layer.digest),
            )),
        };
        let mut found = base(digest.ok(), layer.predicate_type.clone(), envelope);
        found.cosign_log_bundle = log_bundles
            .iter()
            .find(|(d, _)| *d == layer.digest)
            .map(|(_, b)| b.clone());
        out.push(found);
    }
    Ok(())
}

/// The judgement on one attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Verified,
    Rejected,
    /// Not of the `--type` asked for: not judged.
    Skipped,
}

/// One attestation in `stella verify`'s report.
#[derive(Debug, Serialize)]
pub struct Checked {
    pub verdict: Verdict,
    /// `verified`, or a stable code of the first thing wrong
    /// (`signature-mismatch`, `subject-mismatch`, `blob-digest-mismatch`…).
    pub code: &'static str,
    pub reason: String,
    pub origin: Origin,
    /// The manifest it is attached to.
    pub subject: String,
    /// The referrer or `.att` manifest holding it.
    pub manifest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Signed when verified; otherwise what the artifact claims.
    #[serde(rename = "predicateType", skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// The key file that verified it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(rename = "keyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The bundle file (`--bundle`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The transparency log check (with `--rekor-key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tlog: Option<TlogStatus>,
    /// The manifest holding it (for readers of the statement).
    #[serde(skip)]
    pub artifact: Descriptor,
    /// The signed statement, when verified.
    #[serde(skip)]
    pub statement: Option<Statement>,
}

/// The predicate type an envelope's payload states, read without trusting
/// it (only to decide whether `--type` concerns it).
fn unsigned_predicate_type(envelope: &[u8]) -> Option<String> {
    let envelope = stella_attest::dsse::Envelope::from_json(envelope).ok()?;
    let statement: Value = serde_json::from_slice(&envelope.payload).ok()?;
    statement
        .get("predicateType")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn verify_error_code(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::Envelope(_) => "malformed-envelope",
        VerifyError::WrongPayloadType { .. } => "wrong-payload-type",
        VerifyError::NoSignatures => "no-signature",
        VerifyError::NoKeys => "no-keys",
        VerifyError::NoValidSignature { .. } => "signature-mismatch",
        VerifyError::Statement(
            StatementError::SubjectMismatch { .. } | StatementError::NoSha256 { .. },
        ) => "subject-mismatch",
        VerifyError::Statement(_) => "not-a-statement",
        VerifyError::WrongPredicateType { .. } => "predicate-type-mismatch",
    }
}

/// Judges every attestation: verified only when a given key verifies a
/// signature over the in-toto payload, the statement names the manifest
/// it is attached to, and its predicate type is `wanted` (when given) and
/// what the artifact's annotation claims (when it claims one).
///
/// With a log policy, the log entries an attestation carries are checked
/// too: a bad one rejects it (`tlog-rejected`), and with `require` so does
/// having none (`tlog-missing`).
pub fn verify_all(
    found: Vec<Found>,
    keys: &[VerifyingKey],
    key_names: &[String],
    wanted: Option<&str>,
    tlog: Option<&TlogPolicy>,
) -> Vec<Checked> {
    let mut out: Vec<Checked> = found
        .into_iter()
        .map(|f| {
            let evidence = Evidence {
                entries: f.tlog_entries.clone(),
                cosign_bundle: f.cosign_log_bundle.clone(),
            };
            let envelope = f.envelope.as_ref().ok().cloned();
            let checked = judge(f, keys, key_names, wanted);
            match (tlog, envelope) {
                (Some(policy), Some(envelope)) => with_tlog(checked, &envelope, &evidence, policy),
                _ => checked,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.subject, a.origin, &a.manifest, &a.layer).cmp(&(
            &b.subject,
            b.origin,
            &b.manifest,
            &b.layer,
        ))
    });
    out
}

fn judge(f: Found, keys: &[VerifyingKey], key_names: &[String], wanted: Option<&str>) -> Checked {
    let mut checked = Checked {
        verdict: Verdict::Rejected,
        code: "",
        reason: String::new(),
        origin: f.origin,
        subject: f.subject.to_string(),
        manifest: f.manifest.digest.to_string(),
        tag: f.tag,
        layer: f.layer.as_ref().map(Digest::to_string),
        predicate_type: f.claimed_type.clone(),
        key: None,
        key_id: None,
        file: f.file,
        tlog: None,
        artifact: f.manifest,
        statement: None,
    };
    let envelope = match f.envelope {
        Ok(e) => e,
        Err(problem) => {
            // Unreadable: judged only when it may be of the type asked for.
            if let (Some(w), Some(claim)) = (wanted, &f.claimed_type) {
                if claim != w {
                    return skipped(checked, claim, w);
                }
            }
            checked.code = problem.code;
            checked.reason = problem.detail;
            return checked;
        }
    };
    let payload_type = unsigned_predicate_type(&envelope);
    if checked.predicate_type.is_none() {
        checked.predicate_type = payload_type.clone();
    }
    if let Some(w) = wanted {
        let claims: Vec<&String> = f.claimed_type.iter().chain(&payload_type).collect();
        if !claims.is_empty() && claims.iter().all(|c| c.as_str() != w) {
            let claim = claims[0].clone();
            return skipped(checked, &claim, w);
        }
    }
    let subject_hex = f.subject.hex().to_string();
    let expect = Expect {
        predicate_type: wanted,
        subject_sha256: Some(&subject_hex),
    };
    match verify_attestation(&envelope, keys, &expect) {
        Ok(verified) => {
            let signed_type = verified.statement.predicate_type.clone();
            checked.predicate_type = Some(signed_type.clone());
            if let Some(claim) = f.claimed_type.filter(|c| *c != signed_type) {
                checked.code = "annotation-mismatch";
                checked.reason = format!(
                    "the artifact claims predicate type {claim:?}, the signed statement says {signed_type:?}"
                );
                return checked;
            }
            let key = &keys[verified.key_index];
            checked.verdict = Verdict::Verified;
            checked.code = "verified";
            checked.key = key_names.get(verified.key_index).cloned();
            checked.key_id = Some(key.key_id());
            checked.reason = format!(
                "signature {} verified with {} ({})",
                verified.signature_index,
                checked.key.as_deref().unwrap_or("-"),
                key.algorithm()
            );
            checked.statement = Some(verified.statement);
        }
        Err(e) => {
            checked.code = verify_error_code(&e);
            checked.reason = e.to_string();
        }
    }
    checked
}

/// Adds the log check to a judged attestation: a rejected entry (or, when
/// required, none) turns a verified attestation into a rejected one.
fn with_tlog(
    mut checked: Checked,
    envelope_json: &[u8],
    evidence: &Evidence,
    policy: &TlogPolicy,
) -> Checked {
    if checked.verdict == Verdict::Skipped {
        return checked;
    }
    let status = match stella_attest::dsse::Envelope::from_json(envelope_json) {
        Ok(envelope) => check_entries(
            &evidence.entries,
            evidence.cosign_bundle.as_deref(),
            &envelope,
            &policy.log,
        ),
        // Judged malformed already; nothing a log entry could vouch for.
        Err(_) => super::tlog::absent(),
    };
    if checked.verdict == Verdict::Verified {
        match status.status {
            TlogState::Rejected => {
                checked.verdict = Verdict::Rejected;
                checked.code = "tlog-rejected";
                checked.reason = format!("transparency log: {}", status.reason);
            }
            TlogState::Absent if policy.require => {
                checked.verdict = Verdict::Rejected;
                checked.code = "tlog-missing";
                checked.reason =
                    "--require-tlog: the attestation carries no transparency log entry".into();
            }
            _ => {}
        }
    }
    checked.tlog = Some(status);
    checked
}

fn skipped(mut checked: Checked, claim: &str, wanted: &str) -> Checked {
    checked.verdict = Verdict::Skipped;
    checked.code = "other-type";
    checked.reason = format!("predicate type {claim}, not {wanted}");
    checked
}

/// `stella verify -o json` (schema `stella-verify@1`).
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub schema: &'static str,
    pub image: String,
    /// The platform manifest.
    pub subject: Descriptor,
    /// The index it was picked from, when IMAGE names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    #[serde(rename = "predicateType", skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// The transparency log the entries were checked against (`--rekor-key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tlog: Option<TlogSettings>,
    /// `verified`, `rejected` or `no-attestation` (exit 0, 4, 3).
    pub outcome: &'static str,
    pub verified: usize,
    pub rejected: usize,
    pub skipped: usize,
    pub attestations: Vec<Checked>,
}

/// `stella verify --rekor-key`'s settings, as reported.
#[derive(Debug, Serialize)]
pub struct TlogSettings {
    /// The key file.
    pub key: String,
    /// Hex SHA-256 of its SPKI DER (Rekor's log ID).
    #[serde(rename = "logId")]
    pub log_id: String,
    /// `--require-tlog`.
    pub required: bool,
}

/// A predicate type's short name (`cyclonedx`), else the URI.
fn short_type(uri: &str) -> &str {
    SHORT_NAMES
        .iter()
        .find(|(_, u)| *u == uri)
        .map_or(uri, |(name, _)| name)
}

impl VerifyReport {
    pub fn table(&self) -> String {
        let with_tlog = self.tlog.is_some();
        let mut rows: Vec<Vec<String>> = vec![["VERDICT", "TYPE", "ORIGIN", "ARTIFACT"]
            .into_iter()
            .chain(with_tlog.then_some("TLOG"))
            .chain(["REASON"])
            .map(String::from)
            .collect()];
        for a in &self.attestations {
            let origin = match a.origin {
                Origin::Referrer => "referrer".to_string(),
                Origin::BundleReferrer => "bundle-referrer".to_string(),
                Origin::CosignTag => a.tag.clone().unwrap_or_else(|| "cosign-tag".into()),
                Origin::BundleFile => a.file.clone().unwrap_or_else(|| "bundle-file".into()),
            };
            let artifact = a.layer.as_deref().unwrap_or(&a.manifest);
            let reason = if a.verdict == Verdict::Verified {
                a.reason.clone()
            } else {
                format!("{}: {}", a.code, a.reason)
            };
            let mut row = vec![
                a.verdict_text().to_string(),
                a.predicate_type
                    .as_deref()
                    .map_or("-", short_type)
                    .to_string(),
                origin,
                short_digest(artifact).to_string(),
            ];
            if with_tlog {
                row.push(a.tlog.as_ref().map_or("-".into(), TlogStatus::short));
            }
            row.push(reason);
            rows.push(row);
        }
        let mut out = format!("attestations of {} ({})\n", self.subject.digest, self.image);
        out.push_str(&crate::output::aligned(&rows));
        out.push_str(&format!(
            "\n{} verified, {} rejected, {} skipped: {}\n",
            self.verified, self.rejected, self.skipped, self.outcome
        ));
        out
    }
}

impl Checked {
    fn verdict_text(&self) -> &'static str {
        match self.verdict {
            Verdict::Verified => "verified",
            Verdict::Rejected => "REJECTED",
            Verdict::Skipped => "skipped",
        }
    }
}

/// `sha256:` + 12 hex digits.
fn short_digest(digest: &str) -> &str {
    match digest.split_once(':') {
        Some((algo, hex)) if hex.len() > 12 => &digest[..algo.len() + 1 + 12],
        _ => digest,
    }
}
