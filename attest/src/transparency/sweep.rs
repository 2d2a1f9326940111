//! The DSSE batch-size sweep: how many envelopes to submit to a Rekor v1
//! log at once.
//!
//! Rekor v1 has no batch endpoint, so a *batch of size B* here means B
//! `create entry` requests in flight at the same time (one thread each);
//! batches run one after another until all K envelopes are submitted.
//! Per batch size the sweep writes one CSV row:
//!
//! `timestamp_utc,batch_size,envelopes_count,total_bytes,avg_bytes,latency_ms,successes,failures,retries`
//!
//! * `timestamp_utc`: when the row's run started (RFC 3339, UTC; taken
//!   from `SOURCE_DATE_EPOCH` when set, for reproducible files);
//! * `envelopes_count`, `total_bytes`, `avg_bytes`: the K envelopes' sizes
//!   (`avg_bytes` rounded down);
//! * `latency_ms`: mean wall-clock time of one batch, from its first
//!   request to its last answer (milliseconds, one decimal);
//! * `successes` / `failures`: envelopes whose submission ended in an entry
//!   (a 409 "already in the log" counts as success: the log holds it) /
//!   in an error, or whose returned proof failed offline verification;
//! * `retries`: retries spent on transient errors (429, 5xx, timeouts).
//!
//! Decision rule (docs/attestation/dsse-rekor-batch-sizing.md): the default
//! batch size is the largest size with 0 failures and acceptable latency;
//! the first size with failures is the hard maximum ([`recommend`]).

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::client::{dsse_entry, intoto_entry, ClientConfig, ClientError, RekorClient};
use super::entry::TrustedLog;

/// The CSV header, exactly.
pub const CSV_HEADER: &str =
    "timestamp_utc,batch_size,envelopes_count,total_bytes,avg_bytes,latency_ms,successes,failures,retries";

/// Why the sweep could not run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("no envelopes to submit")]
    NoEnvelopes,
    #[error("batch size {0} is not a positive integer")]
    BadBatchSize(usize),
    #[error("no batch sizes given")]
    NoBatchSizes,
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("SOURCE_DATE_EPOCH={0:?} is not a non-negative integer")]
    BadSourceDateEpoch(String),
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Entry kind the envelopes are submitted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeKind {
    Dsse,
    Intoto,
}

/// Sweep settings (the CLI's `--rekor-url`, `--batch-sizes`,
/// `--max-retries`, `--timeout-ms`).
#[derive(Debug, Clone)]
pub struct SweepConfig {
    pub rekor_url: String,
    pub batch_sizes: Vec<usize>,
    pub max_retries: u32,
    pub timeout_ms: u64,
    /// PEM public key that verifies the envelopes' signatures.
    pub verifier_public_key_pem: String,
    pub kind: EnvelopeKind,
    /// When set, every returned entry is also verified offline (inclusion
    /// proof, checkpoint, SET) and a failure counts as a failed submission.
    pub verify_with: Option<TrustedLog>,
}

/// One CSV row.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    pub timestamp_utc: String,
    pub batch_size: usize,
    pub envelopes_count: usize,
    pub total_bytes: u64,
    pub avg_bytes: u64,
    pub latency_ms: f64,
    pub successes: usize,
    pub failures: usize,
    pub retries: u64,
    /// First failure's message, for the log (not a CSV column).
    pub first_error: Option<String>,
}

impl SweepRow {
    pub fn csv_line(&self) -> String {
        format!(
            "{},{},{},{},{},{:.1},{},{},{}",
            self.timestamp_utc,
            self.batch_size,
            self.envelopes_count,
            self.total_bytes,
            self.avg_bytes,
            self.latency_ms,
            self.successes,
            self.failures,
            self.retries
        )
    }
}

/// The decision rule's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recommendation {
    /// Largest size with 0 failures and latency within the limit.
    pub default_batch_size: Option<usize>,
    /// First size (ascending) with failures.
    pub hard_max: Option<usize>,
}

/// Applies the decision rule to a sweep's rows.
pub fn recommend(rows: &[SweepRow], acceptable_latency_ms: f64) -> Recommendation {
    let mut sorted: Vec<&SweepRow> = rows.iter().collect();
    sorted.sort_by_key(|r| r.batch_size);
    let hard_max = sorted.iter().find(|r| r.failures > 0).map(|r| r.batch_size);
    let default_batch_size = sorted
        .iter()
        .filter(|r| r.failures == 0 && r.latency_ms <= acceptable_latency_ms)
        .filter(|r| hard_max.is_none_or(|m| r.batch_size < m))
        .map(|r| r.batch_size)
        .next_back();
    Recommendation {
        default_batch_size,
        hard_max,
    }
}

/// Runs the sweep: for each batch size, submits all envelopes in batches
/// of that size and measures. The same envelopes are submitted at every
/// size, so from the second size on a log that already holds them answers
/// 409 (counted as success); use [`run_sweep_with`] to measure fresh
/// insertions at every size.
pub fn run_sweep(config: &SweepConfig, envelopes: &[Vec<u8>]) -> Result<Vec<SweepRow>, SweepError> {
    run_sweep_with(config, &mut |_| envelopes.to_vec())
}

/// Like [`run_sweep`], with the envelopes for each batch size supplied by
/// `envelopes_for` (called once per size, in order), e.g. freshly signed
/// statements so that every size measures new log entries.
pub fn run_sweep_with(
    config: &SweepConfig,
    envelopes_for: &mut dyn FnMut(usize) -> Vec<Vec<u8>>,
) -> Result<Vec<SweepRow>, SweepError> {
    if config.batch_sizes.is_empty() {
        return Err(SweepError::NoBatchSizes);
    }
    if let Some(&b) = config.batch_sizes.iter().find(|&&b| b == 0) {
        return Err(SweepError::BadBatchSize(b));
    }
    let fixed_time = source_date_epoch()?;
    let mut cc = ClientConfig::new(&config.rekor_url);
    cc.max_retries = config.max_retries;
    cc.timeout = Duration::from_millis(config.timeout_ms);
    let client = RekorClient::new(cc)?;

    let mut rows = Vec::with_capacity(config.batch_sizes.len());
    for &batch_size in &config.batch_sizes {
        let envelopes = envelopes_for(batch_size);
        if envelopes.is_empty() {
            return Err(SweepError::NoEnvelopes);
        }
        let total_bytes: u64 = envelopes.iter().map(|e| e.len() as u64).sum();
        let started = fixed_time.unwrap_or_else(now_epoch);
        let mut batch_times = Vec::new();
        let (mut successes, mut failures, mut retries) = (0usize, 0usize, 0u64);
        let mut first_error = None;
        for batch in envelopes.chunks(batch_size) {
            let t0 = Instant::now();
            let outcomes: Vec<Result<u32, (String, u32)>> = std::thread::scope(|s| {
                let handles: Vec<_> = batch
                    .iter()
                    .map(|env| s.spawn(|| submit_one(&client, config, env)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(("submission thread panicked".into(), 0)))
                    })
                    .collect()
            });
            batch_times.push(t0.elapsed());
            for o in outcomes {
                match o {
                    Ok(r) => {
                        successes += 1;
                        retries += u64::from(r);
                    }
                    Err((e, r)) => {
                        failures += 1;
                        retries += u64::from(r);
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        let mean_ms = batch_times.iter().map(Duration::as_secs_f64).sum::<f64>() * 1000.0
            / batch_times.len().max(1) as f64;
        rows.push(SweepRow {
            timestamp_utc: rfc3339_utc(started),
            batch_size,
            envelopes_count: envelopes.len(),
            total_bytes,
            avg_bytes: total_bytes / envelopes.len() as u64,
            latency_ms: mean_ms,
            successes,
            failures,
            retries,
            first_error,
        });
    }
    Ok(rows)
}

/// Submits one envelope; `Ok(retries)` or `Err((reason, retries))`.
fn submit_one(
    client: &RekorClient,
    config: &SweepConfig,
    envelope: &[u8],
) -> Result<u32, (String, u32)> {
    let proposed = match config.kind {
        EnvelopeKind::Dsse => dsse_entry(envelope, &[config.verifier_public_key_pem.as_str()]),
        EnvelopeKind::Intoto => intoto_entry(envelope, &config.verifier_public_key_pem)
            .map_err(|e| (e.to_string(), 0))?,
    };
    let sub = client.create_entry(&proposed).map_err(|e| {
        let retries = match &e {
            ClientError::Transport { attempts, .. } | ClientError::Http { attempts, .. } => {
                attempts.saturating_sub(1)
            }
            _ => 0,
        };
        (e.to_string(), retries)
    })?;
    if let Some(log) = &config.verify_with {
        sub.entry
            .verify(log)
            .map_err(|e| (format!("returned entry does not verify: {e}"), sub.retries))?;
    }
    Ok(sub.retries)
}

/// The CSV text: header and one line per row, in the order run.
pub fn to_csv(rows: &[SweepRow]) -> String {
    let mut s = String::from(CSV_HEADER);
    s.push('\n');
    for r in rows {
        s.push_str(&r.csv_line());
        s.push('\n');
    }
    s
}

/// Writes the CSV to `path` (through a temporary file in the same
/// directory, renamed into place).
pub fn write_csv(rows: &[SweepRow], path: &Path) -> Result<(), SweepError> {
    let io = |source| SweepError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("sweep.csv")
    ));
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(to_csv(rows).as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

fn source_date_epoch() -> Result<Option<u64>, SweepError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| SweepError::BadSourceDateEpoch(v)),
        Err(_) => Ok(None),
    }
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch.
pub fn rfc3339_utc(epoch: u64) -> String {
    let days = epoch / 86_400;
    let rem = epoch % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// civil-from-days algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_known_dates() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        // `date -u -d @1710888076` (the integratedTime of a real Rekor entry).
        assert_eq!(rfc3339_utc(1_710_888_076), "2024-03-19T22:41:16Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    fn row(b: usize, failures: usize, latency_ms: f64) -> SweepRow {
        SweepRow {
            timestamp_utc: String::new(),
            batch_size: b,
            envelopes_count: 10,
            total_bytes: 10,
            avg_bytes: 1,
            latency_ms,
            successes: 10 - failures,
            failures,
            retries: 0,
            first_error: None,
        }
    }

    #[test]
    fn decision_rule() {
        let rows = [
            row(1, 0, 5.0),
            row(5, 0, 9.0),
            row(10, 0, 50.0),
            row(25, 2, 9.0),
            row(50, 0, 1.0),
        ];
        let r = recommend(&rows, 20.0);
        assert_eq!(r.default_batch_size, Some(5));
        assert_eq!(r.hard_max, Some(25));
        let r = recommend(&rows[..3], 100.0);
        assert_eq!(
            r,
            Recommendation {
                default_batch_size: Some(10),
                hard_max: None
            }
        );
    }
}
