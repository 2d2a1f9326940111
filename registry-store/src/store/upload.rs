//! Blob upload over the distribution API, chunked and resumable.
//!
//! `POST …/blobs/uploads/` opens a session; small blobs then go in one
//! `PUT <location>?digest=`, larger ones as `PATCH` chunks with
//! `Content-Range`, closed by an empty `PUT ?digest=`. When a chunk fails
//! (connection dropped, 5xx, 429) the uploader asks the session where it
//! stands (`GET <location>` → `Range: 0-N`) and goes on from byte N+1;
//! when the session itself is gone or refuses to resume (distribution
//! binds its state to the upload URL), a fresh session starts over. Every
//! way out is bounded by the retry policy.

use bytes::Bytes;
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::Method;
use stella_model::Digest;

use super::http::{error_text, Access, Http, Reply, Request};
use super::retry::RetryPolicy;
use crate::StoreError;

/// Where an upload session is: its URL and how many bytes it holds.
struct Session {
    url: String,
    offset: u64,
}

/// What became of one step.
enum Step {
    Done,
    /// The session is fine; go on from its offset.
    Continue,
    /// Something failed; find out where the session stands.
    Recover(String),
    /// The session cannot go on; start a new one.
    Restart(String),
}

pub(crate) async fn upload(
    http: &Http,
    digest: &Digest,
    data: Bytes,
    chunk_size: usize,
    policy: &RetryPolicy,
) -> Result<(), StoreError> {
    let what = format!("upload of blob {digest}");
    let chunk_size = chunk_size.max(1) as u64;
    let total = data.len() as u64;
    // Failed steps allowed over the whole upload, restarts included.
    let budget = policy.max_attempts.max(1) * 2;
    let mut failures = 0u32;
    let last_problem;
    'sessions: loop {
        let mut session = start(http, &what).await?;
        loop {
            let step = if total <= chunk_size && session.offset == 0 {
                put_whole(http, &session, digest, &data, &what).await?
            } else if session.offset < total {
                let end = (session.offset + chunk_size).min(total);
                patch(http, &mut session, &data, end, &what).await?
            } else {
                finish(http, &session, digest, &what).await?
            };
            let problem = match step {
                Step::Done => return Ok(()),
                Step::Continue => continue,
                Step::Recover(p) | Step::Restart(p) if failures + 1 >= budget => {
                    last_problem = p;
                    break 'sessions;
                }
                Step::Recover(p) => {
                    failures += 1;
                    tokio::time::sleep(policy.backoff(failures)).await;
                    match status(http, &session, &what).await? {
                        Some(s) => {
                            tracing::debug!("{what}: {p}; resuming at byte {}", s.offset);
                            session = s;
                            continue;
                        }
                        None => p,
                    }
                }
                Step::Restart(p) => {
                    failures += 1;
                    tokio::time::sleep(policy.backoff(failures)).await;
                    p
                }
            };
            // The blob may have landed even though we never heard so.
            if exists(http, digest).await? {
                return Ok(());
            }
            tracing::debug!("{what}: {problem}; starting a new upload session");
            continue 'sessions;
        }
    }
    Err(http.registry_error(format!(
        "{what}: gave up after {budget} failed steps; last: {last_problem}"
    )))
}

/// `POST …/blobs/uploads/` → the session's URL.
async fn start(http: &Http, what: &str) -> Result<Session, StoreError> {
    let req = Request::new(
        Method::POST,
        http.url("blobs/uploads/"),
        Access::Push,
        format!("{what}: opening a session"),
    );
    let reply = http.exchange(&req, 0).await?;
    if reply.status != 202 {
        return Err(refusal(http, &req.what, &reply));
    }
    let url = location(http, &reply, &req.what)?;
    Ok(Session { url, offset: 0 })
}

/// The whole blob in the closing PUT.
async fn put_whole(
    http: &Http,
    session: &Session,
    digest: &Digest,
    data: &Bytes,
    what: &str,
) -> Result<Step, StoreError> {
    let req = Request::new(
        Method::PUT,
        with_digest(&session.url, digest),
        Access::Push,
        format!("{what}: sending {} bytes", data.len()),
    )
    .header(CONTENT_TYPE, "application/octet-stream")
    .body(data.clone())
    .no_retry();
    closing(http, &req, digest).await
}

async fn finish(
    http: &Http,
    session: &Session,
    digest: &Digest,
    what: &str,
) -> Result<Step, StoreError> {
    let req = Request::new(
        Method::PUT,
        with_digest(&session.url, digest),
        Access::Push,
        format!("{what}: closing the session"),
    )
    .no_retry();
    closing(http, &req, digest).await
}

async fn closing(http: &Http, req: &Request, digest: &Digest) -> Result<Step, StoreError> {
    let reply = match http.exchange(req, 0).await {
        Ok(r) => r,
        Err(StoreError::Registry { reason, .. }) => return Ok(Step::Restart(reason)),
        Err(e) => return Err(e),
    };
    match reply.status {
        201 | 204 => {
            if let Some(said) = reply.header("docker-content-digest") {
                if said != digest.to_string() {
                    return Err(http.registry_error(format!(
                        "{}: the registry stored the blob as {said}",
                        req.what
                    )));
                }
            }
            Ok(Step::Done)
        }
        // The registry checked the bytes and refused them: nothing to retry.
        400 if String::from_utf8_lossy(&reply.body).contains("DIGEST_INVALID") => Err(http
            .registry_error(format!(
                "{}: the registry computed another digest for the bytes it received{}",
                req.what,
                error_text(&reply.body)
            ))),
        _ => Ok(Step::Restart(format!(
            "HTTP {}{}",
            reply.status,
            error_text(&reply.body)
        ))),
    }
}

/// One chunk, `[session.offset, end)`.
async fn patch(
    http: &Http,
    session: &mut Session,
    data: &Bytes,
    end: u64,
    what: &str,
) -> Result<Step, StoreError> {
    let start = session.offset;
    let req = Request::new(
        Method::PATCH,
        session.url.clone(),
        Access::Push,
        format!("{what}: bytes {start}-{}", end - 1),
    )
    .header(CONTENT_TYPE, "application/octet-stream")
    .header(CONTENT_RANGE, format!("{start}-{}", end - 1))
    .body(data.slice(start as usize..end as usize))
    .no_retry();
    let reply = match http.exchange(&req, 0).await {
        Ok(r) => r,
        Err(StoreError::Registry { reason, .. }) => return Ok(Step::Recover(reason)),
        Err(e) => return Err(e),
    };
    if reply.status != 202 {
        return Ok(Step::Recover(format!(
            "{}: HTTP {}{}",
            req.what,
            reply.status,
            error_text(&reply.body)
        )));
    }
    session.url = location(http, &reply, &req.what)?;
    session.offset = match reply.header(RANGE.as_str()).and_then(parse_range) {
        // A registry that took less than sent: go on from what it holds.
        Some(held) if held <= end => held,
        _ => end,
    };
    Ok(Step::Continue)
}

/// `GET <session>`: where the session stands, or `None` when it is gone.
async fn status(http: &Http, session: &Session, what: &str) -> Result<Option<Session>, StoreError> {
    let req = Request::new(
        Method::GET,
        session.url.clone(),
        Access::Push,
        format!("{what}: asking where the session stands"),
    );
    let reply = match http.exchange(&req, 0).await {
        Ok(r) => r,
        Err(StoreError::Registry { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    if reply.status != 204 && reply.status != 202 {
        return Ok(None);
    }
    let offset = reply
        .header(RANGE.as_str())
        .and_then(parse_range)
        .unwrap_or(0);
    let url = match reply.header(LOCATION.as_str()) {
        Some(l) => http.absolute(l),
        None => session.url.clone(),
    };
    Ok(Some(Session { url, offset }))
}

/// Does the repository hold the blob?
pub(crate) async fn exists(http: &Http, digest: &Digest) -> Result<bool, StoreError> {
    let req = Request::new(
        Method::HEAD,
        http.url(&format!("blobs/{digest}")),
        Access::Pull,
        format!("blob {digest}"),
    );
    let reply = http.exchange(&req, 0).await?;
    match reply.status {
        200 => Ok(true),
        404 => Ok(false),
        _ => Err(refusal(http, &req.what, &reply)),
    }
}

fn location(http: &Http, reply: &Reply, what: &str) -> Result<String, StoreError> {
    reply
        .header(LOCATION.as_str())
        .map(|l| http.absolute(l))
        .ok_or_else(|| http.registry_error(format!("{what}: the registry sent no Location")))
}

/// `Range: 0-N` → N+1 bytes held. `0-0` is read as nothing held (as
/// distribution reports an empty session); a wrong guess costs a restart.
fn parse_range(value: &str) -> Option<u64> {
    let (from, to) = value.trim().trim_start_matches("bytes=").split_once('-')?;
    if from.trim() != "0" {
        return None;
    }
    let to: u64 = to.trim().parse().ok()?;
    Some(if to == 0 { 0 } else { to + 1 })
}

fn with_digest(url: &str, digest: &Digest) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}digest={digest}")
}

/// An unexpected answer, as an error.
pub(crate) fn refusal(http: &Http, what: &str, reply: &Reply) -> StoreError {
    http.registry_error(format!(
        "{what}: HTTP {}{}",
        reply.status,
        error_text(&reply.body)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("0-99"), Some(100));
        assert_eq!(parse_range("bytes=0-4"), Some(5));
        assert_eq!(parse_range("0-0"), Some(0));
        assert_eq!(parse_range("5-9"), None);
        assert_eq!(parse_range("junk"), None);
    }

    #[test]
    fn digest_query() {
        let d = Digest::sha256_of(b"x");
        assert_eq!(
            with_digest("http://h/u", &d),
            format!("http://h/u?digest={d}")
        );
        assert_eq!(
            with_digest("http://h/u?_state=a", &d),
            format!("http://h/u?_state=a&digest={d}")
        );
    }
}
