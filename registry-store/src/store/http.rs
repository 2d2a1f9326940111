//! HTTP to one registry repository, for the store: credentials (the same
//! docker-config lookup as the read side, with push scope when writing),
//! bounded bodies, and retries of transient failures (see [`super::retry`]).
//!
//! Why not oci-client for all of it: the store must PUT manifests as exact
//! bytes and read back the response headers (`OCI-Subject`), resume uploads
//! from the server's `Range`, and honour `Retry-After`. oci-client still does
//! the token dance (`Client::auth`), so Basic, Bearer and anonymous tokens
//! behave as on the read side.

use std::time::SystemTime;

use base64::Engine as _;
use bytes::Bytes;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use reqwest::header::{HeaderMap, HeaderName, AUTHORIZATION, RETRY_AFTER};
use reqwest::Method;

use super::retry::{is_retryable_status, parse_retry_after, RetryPolicy};
use crate::registry::auth::{Credentials, Secret};
use crate::registry::{
    error_chain, oci_client_for, quote, token, CONNECT_TIMEOUT, READ_TIMEOUT, USER_AGENT,
};
use crate::StoreError;

/// Whether a request reads or writes; writes need a push-scoped token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Pull,
    Push,
}

/// One request, rebuilt for every attempt.
pub(crate) struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(HeaderName, String)>,
    pub body: Option<Bytes>,
    pub access: Access,
    /// What the request is about, for messages (`manifest v1`, `blob sha256:…`).
    pub what: String,
    /// False for requests that must not be repeated blindly (upload chunks:
    /// the uploader resumes from the server's state instead).
    pub retry: bool,
}

impl Request {
    pub fn new(method: Method, url: String, access: Access, what: impl Into<String>) -> Request {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: None,
            access,
            what: what.into(),
            retry: true,
        }
    }

    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> Request {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Bytes) -> Request {
        self.body = Some(body);
        self
    }

    pub fn no_retry(mut self) -> Request {
        self.retry = false;
        self
    }
}

/// A response whose body was read (bounded), or is left to stream.
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub stream: Option<reqwest::Response>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How a body is handled.
#[derive(Clone, Copy)]
enum Mode {
    /// Read it whole; more than this many bytes is an error.
    Read(u64),
    /// Keep at most the first bytes, whatever the status.
    Skim,
    /// Leave a successful body to the caller; error bodies are read (bounded).
    Stream,
}

/// Error bodies are quoted in messages; more is not read.
const MAX_ERROR_BODY: u64 = 64 * 1024;

enum Failure {
    /// Worth another try (a dropped connection, a body cut short).
    Transient(String),
    Fatal(StoreError),
}

pub(crate) struct Http {
    client: reqwest::Client,
    /// `SCHEME://HOST[:PORT]`
    origin: String,
    /// `HOST/REPOSITORY` as the user wrote it, for messages.
    pub name: String,
    pub repository: String,
    policy: RetryPolicy,
    auth: Authorizer,
}

impl Http {
    pub fn new(
        reference: &Reference,
        plain_http: bool,
        credentials: Option<Credentials>,
        policy: RetryPolicy,
    ) -> Result<Http, StoreError> {
        let host = reference.resolve_registry().to_string();
        let scheme = if plain_http { "http" } else { "https" };
        let name = format!("{}/{}", reference.registry(), reference.repository());
        let client = crate::tls::client_builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| StoreError::Registry {
                registry: name.clone(),
                reason: format!("cannot set up an HTTP client: {e}"),
            })?;
        let origin = format!("{scheme}://{host}");
        Ok(Http {
            client: client.clone(),
            auth: Authorizer {
                oci: tokio::sync::OnceCell::new(),
                client,
                plain_http,
                reference: reference.clone(),
                ping_url: format!("{origin}/v2/"),
                credentials,
                cache: tokio::sync::Mutex::new([None, None]),
            },
            origin,
            name,
            repository: reference.repository().to_string(),
            policy,
        })
    }

    /// `SCHEME://HOST/v2/REPOSITORY/` + `rest`.
    pub fn url(&self, rest: &str) -> String {
        format!("{}/v2/{}/{rest}", self.origin, self.repository)
    }

    /// An upload `Location` (absolute or relative to the registry) as a URL.
    pub fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else if location.starts_with('/') {
            format!("{}{location}", self.origin)
        } else {
            format!("{}/{location}", self.origin)
        }
    }

    pub fn registry_error(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Registry {
            registry: self.name.clone(),
            reason: reason.into(),
        }
    }

    /// Sends `req` (retrying transient failures) and reads the body, at
    /// most `limit` bytes; a limit of 0 means the body does not matter (the
    /// first bytes are kept for messages, the rest is not read).
    pub async fn exchange(&self, req: &Request, limit: u64) -> Result<Reply, StoreError> {
        let mode = if limit == 0 {
            Mode::Skim
        } else {
            Mode::Read(limit)
        };
        self.run(req, mode).await
    }

    /// Sends `req` (retrying until response headers arrive) and leaves a
    /// successful body unread.
    pub async fn open(&self, req: &Request) -> Result<Reply, StoreError> {
        self.run(req, Mode::Stream).await
    }

    async fn run(&self, req: &Request, mode: Mode) -> Result<Reply, StoreError> {
        let mut attempt = 0u32;
        let mut reauthenticated = false;
        loop {
            attempt += 1;
            let last = !req.retry || attempt >= self.policy.max_attempts.max(1);
            let wait = match self.once(req, mode).await {
                Ok(reply) if reply.status == 401 => {
                    // Tokens expire: fetch a fresh one once, then give up.
                    if !reauthenticated {
                        reauthenticated = true;
                        self.auth.forget(req.access).await;
                        attempt -= 1;
                        continue;
                    }
                    return Err(self.auth.refused(req, &reply));
                }
                Ok(reply) if is_retryable_status(reply.status) => {
                    let told = reply
                        .header(RETRY_AFTER.as_str())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    let problem = format!(
                        "{}: HTTP {}{}",
                        req.what,
                        reply.status,
                        error_text(&reply.body)
                    );
                    if let Some(delay) = told {
                        if delay > self.policy.max_retry_after {
                            return Err(self.registry_error(format!(
                                "{problem}; the registry asks to retry after {}s, longer than the {}s we wait",
                                delay.as_secs(),
                                self.policy.max_retry_after.as_secs()
                            )));
                        }
                    }
                    if last {
                        return Err(self.registry_error(format!(
                            "{problem} (gave up after {attempt} attempts)"
                        )));
                    }
                    tracing::debug!("{problem}; retrying");
                    told.unwrap_or_else(|| self.policy.backoff(attempt))
                }
                Ok(reply) => return Ok(reply),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient(reason)) => {
                    if last {
                        return Err(self.registry_error(format!(
                            "{}: {reason} (gave up after {attempt} attempts)",
                            req.what
                        )));
                    }
                    tracing::debug!("{}: {reason}; retrying", req.what);
                    self.policy.backoff(attempt)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    async fn once(&self, req: &Request, mode: Mode) -> Result<Reply, Failure> {
        let mut builder = self.client.request(req.method.clone(), &req.url);
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        // Credentials go to the registry only, never to a redirect target
        // named in a Location (object storage).
        if req.url.starts_with(&format!("{}/", self.origin)) {
            if let Some(value) = self.auth.header(req.access).await.map_err(Failure::Fatal)? {
                builder = builder.header(AUTHORIZATION, value);
            }
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        } else if req.method == Method::PUT || req.method == Method::POST {
            builder = builder.header(reqwest::header::CONTENT_LENGTH, "0");
        }
        let response = builder.send().await.map_err(|e| {
            if e.is_builder() {
                Failure::Fatal(self.registry_error(format!("{}: {}", req.what, error_chain(&e))))
            } else {
                Failure::Transient(error_chain(&e))
            }
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let success = (200..300).contains(&status);
        let (limit, strict) = match mode {
            Mode::Stream if success => {
                return Ok(Reply {
                    status,
                    headers,
                    body: Vec::new(),
                    stream: Some(response),
                })
            }
            Mode::Read(limit) if success => (limit, true),
            _ => (MAX_ERROR_BODY, false),
        };
        let body = read_bounded(response, limit, strict)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge(size) => Failure::Fatal(StoreError::TooLarge {
                    what: format!("{} from registry {}", req.what, self.name),
                    size,
                    limit,
                }),
                ReadError::Transport(reason) => Failure::Transient(reason),
            })?;
        Ok(Reply {
            status,
            headers,
            body,
            stream: None,
        })
    }
}

enum ReadError {
    TooLarge(u64),
    Transport(String),
}

/// Reads at most `limit` bytes. For error bodies (`strict` false) the rest
/// is simply not read; for wanted bodies more than `limit` is an error,
/// announced (Content-Length) or not.
async fn read_bounded(
    mut response: reqwest::Response,
    limit: u64,
    strict: bool,
) -> Result<Vec<u8>, ReadError> {
    if strict {
        if let Some(len) = response.content_length().filter(|l| *l > limit) {
            return Err(ReadError::TooLarge(len));
        }
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() as u64 > limit {
                    if strict {
                        return Err(ReadError::TooLarge(body.len() as u64));
                    }
                    body.truncate(limit as usize);
                    return Ok(body);
                }
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(ReadError::Transport(error_chain(&e))),
        }
    }
}

/// ` (registry said: …)` from an error body, or nothing.
pub(crate) fn error_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = quote(&text);
    if text.is_empty() {
        String::new()
    } else {
        format!(" (registry said: {text})")
    }
}

/// Credentials as `Authorization` header values, one per access kind,
/// fetched lazily and renewed once after a 401.
struct Authorizer {
    /// Built only for a token dance: building one loads TLS roots.
    oci: tokio::sync::OnceCell<Client>,
    /// For the anonymous `/v2/` ping.
    client: reqwest::Client,
    plain_http: bool,
    reference: Reference,
    ping_url: String,
    credentials: Option<Credentials>,
    cache: tokio::sync::Mutex<[Option<Option<String>>; 2]>,
}

impl Authorizer {
    fn slot(access: Access) -> usize {
        match access {
            Access::Pull => 0,
            Access::Push => 1,
        }
    }

    async fn forget(&self, access: Access) {
        self.cache.lock().await[Self::slot(access)] = None;
    }

    async fn header(&self, access: Access) -> Result<Option<String>, StoreError> {
        let mut cache = self.cache.lock().await;
        if let Some(value) = &cache[Self::slot(access)] {
            return Ok(value.clone());
        }
        let value = self.fetch(access).await?;
        cache[Self::slot(access)] = Some(value.clone());
        Ok(value)
    }

    async fn fetch(&self, access: Access) -> Result<Option<String>, StoreError> {
        let (operation, actions) = match access {
            Access::Pull => (RegistryOperation::Pull, "pull"),
            Access::Push => (RegistryOperation::Push, "pull,push"),
        };
        let secret = self.credentials.as_ref().map(|c| &c.secret);
        let auth = match secret {
            Some(Secret::IdentityToken(token)) => {
                let access = token::exchange_identity_token(
                    self.ping_url.clone(),
                    self.reference.repository().to_string(),
                    token.clone(),
                    actions,
                )
                .await
                .map_err(|reason| self.failed(reason))?;
                return Ok(Some(format!("Bearer {access}")));
            }
            Some(Secret::Basic { username, password }) => {
                RegistryAuth::Basic(username.clone(), password.clone())
            }
            None if self.open_to_anonymous().await => return Ok(None),
            None => RegistryAuth::Anonymous,
        };
        let oci = self
            .oci
            .get_or_try_init(|| async {
                oci_client_for(self.reference.resolve_registry(), self.plain_http)
            })
            .await?;
        let token = oci
            .auth(&self.reference, &auth, operation)
            .await
            .map_err(|e| self.failed(format!("token request: {}", error_chain(&e))))?;
        Ok(match (token, secret) {
            (Some(token), _) => Some(format!("Bearer {token}")),
            (None, Some(Secret::Basic { username, password })) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            (None, _) => None,
        })
    }

    /// The registry's `/v2/` answers anonymous requests (no challenge to
    /// follow). Anything else — a 401, an error — goes the token route,
    /// which reports it properly.
    async fn open_to_anonymous(&self) -> bool {
        match self.client.get(&self.ping_url).send().await {
            Ok(reply) => reply.status().is_success(),
            Err(_) => false,
        }
    }

    fn failed(&self, reason: impl Into<String>) -> StoreError {
        StoreError::AuthFailed {
            registry: self.reference.registry().to_string(),
            repository: self.reference.repository().to_string(),
            reason: reason.into(),
        }
    }

    /// The error for a request the registry keeps refusing.
    fn refused(&self, req: &Request, reply: &Reply) -> StoreError {
        let doing = match req.access {
            Access::Pull => "read",
            Access::Push => "write",
        };
        let detail = format!(
            "{}: HTTP {}{}",
            req.what,
            reply.status,
            error_text(&reply.body)
        );
        self.failed(match &self.credentials {
            Some(c) => format!(
                "credentials from {} were rejected for {doing} access ({detail})",
                c.origin
            ),
            None => format!(
                "anonymous {doing} access refused ({detail}); no credentials for {} in the docker config (run `docker login {}`)",
                self.reference.registry(),
                self.reference.registry()
            ),
        })
    }
}
