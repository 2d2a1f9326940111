//! A registry that misbehaves: a small HTTP proxy, loopback only, in front
//! of a real registry, that tampers with chosen exchanges — wrong or cut
//! bodies, swapped manifests, error statuses with `Retry-After`, refused
//! tokens, connections dropped before or after the registry saw the
//! request, request bodies cut in the middle. One request per connection,
//! every socket with timeouts, every body bounded; it stops when dropped.
//!
//! The client's `Host` header is passed on, so the registry's `Location`
//! headers (upload sessions) point back at the proxy.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::Digest as _;

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: u64 = 64 * 1024 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served over the proxy's life.
const MAX_CONNECTIONS: usize = 100_000;

#[derive(Clone, Debug)]
pub enum Fault {
    /// Flip one byte in the middle of the response body; headers untouched.
    CorruptBody,
    /// Announce the full length, send half the body, close.
    TruncateBody,
    /// Serve these bytes instead; headers (Docker-Content-Digest too) untouched.
    ReplaceBody(Vec<u8>),
    /// Serve these bytes with a Docker-Content-Digest that matches them.
    ReplaceBodyAndDigest(Vec<u8>),
    /// Serve these bytes and leave out the named response headers.
    ReplaceBodyDropHeaders(Vec<u8>, Vec<String>),
    /// Answer this status (and headers, body) without asking the registry.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Read the request and close the connection: the registry never sees it.
    DropRequest,
    /// Forward the request, then close without passing the answer on.
    DropAfterForward,
    /// Send the registry the request head and half its body, then close both sides.
    CutRequestBody,
}

impl Fault {
    /// `429 Too Many Requests` with `Retry-After: SECONDS`.
    pub fn too_many(retry_after_secs: u64) -> Fault {
        Fault::Respond {
            status: 429,
            headers: vec![("retry-after".into(), retry_after_secs.to_string())],
            body: br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#.to_vec(),
        }
    }

    pub fn status(status: u16) -> Fault {
        Fault::Respond {
            status,
            headers: Vec::new(),
            body: format!(
                r#"{{"errors":[{{"code":"UNAVAILABLE","message":"injected {status}"}}]}}"#
            )
            .into_bytes(),
        }
    }

    /// `401` as a registry says it to a token it does not accept.
    pub fn bad_token() -> Fault {
        Fault::Respond {
            status: 401,
            headers: vec![(
                "www-authenticate".into(),
                r#"Basic realm="stella-test""#.into(),
            )],
            body: br#"{"errors":[{"code":"UNAUTHORIZED","message":"invalid token"}]}"#.to_vec(),
        }
    }
}

/// Which requests a fault applies to.
#[derive(Clone, Debug)]
pub struct Rule {
    /// `None`: any method.
    pub method: Option<String>,
    /// The path (without query) ends with this …
    pub suffix: Option<String>,
    /// … and contains this.
    pub contains: Option<String>,
    /// Matching requests let through untouched before the fault starts.
    pub skip: usize,
    /// How many matching requests to tamper with; `None`: all of them.
    pub times: Option<usize>,
    pub fault: Fault,
}

impl Rule {
    pub fn new(fault: Fault) -> Rule {
        Rule {
            method: None,
            suffix: None,
            contains: None,
            skip: 0,
            times: None,
            fault,
        }
    }

    pub fn method(mut self, method: &str) -> Rule {
        self.method = Some(method.to_string());
        self
    }

    pub fn suffix(mut self, suffix: &str) -> Rule {
        self.suffix = Some(suffix.to_string());
        self
    }

    pub fn contains(mut self, part: &str) -> Rule {
        self.contains = Some(part.to_string());
        self
    }

    pub fn skip(mut self, n: usize) -> Rule {
        self.skip = n;
        self
    }

    pub fn times(mut self, n: usize) -> Rule {
        self.times = Some(n);
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.times != Some(0)
            && self.method.as_deref().is_none_or(|m| m == method)
            && self.suffix.as_deref().is_none_or(|s| path.ends_with(s))
            && self.contains.as_deref().is_none_or(|c| path.contains(c))
    }
}

/// One request the proxy saw: method, path (with query), and the fault
/// applied, if any.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub fault: Option<String>,
}

type Rules = Arc<Mutex<Vec<Rule>>>;
type Log = Arc<Mutex<Vec<Seen>>>;

pub struct Proxy {
    pub addr: String,
    rules: Rules,
    log: Log,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: &str) -> Proxy {
        assert!(
            upstream.starts_with("127.0.0.1:"),
            "loopback upstreams only"
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr").to_string();
        let rules: Rules = Arc::default();
        let log: Log = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (rules, log, stop) = (rules.clone(), log.clone(), stop.clone());
            let upstream = upstream.to_string();
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst)
                    && served.load(Ordering::SeqCst) < MAX_CONNECTIONS
                {
                    match listener.accept() {
                        Ok((client, _)) => {
                            served.fetch_add(1, Ordering::SeqCst);
                            let (rules, log, upstream) =
                                (rules.clone(), log.clone(), upstream.clone());
                            std::thread::spawn(move || {
                                let _ = serve(client, &upstream, &rules, &log);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        Proxy {
            addr,
            rules,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// Applies `fault` to every request whose path (sans query) ends with `suffix`.
    pub fn inject(&self, suffix: &str, fault: Fault) {
        self.add(Rule::new(fault).suffix(suffix));
    }

    pub fn add(&self, rule: Rule) {
        self.rules.lock().expect("rules").push(rule);
    }

    pub fn clear(&self) {
        self.rules.lock().expect("rules").clear();
    }

    /// Everything seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().expect("log").clone()
    }

    /// Requests that were tampered with.
    pub fn faults_applied(&self) -> usize {
        self.seen().iter().filter(|s| s.fault.is_some()).count()
    }

    pub fn clear_log(&self) {
        self.log.lock().expect("log").clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_head(stream: &mut TcpStream) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::Error::other("request head too large"));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::other(
                "closed before the request head ended",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Picks the first live rule for the request and uses up one of its times.
fn take_fault(rules: &Rules, method: &str, path: &str) -> Option<Fault> {
    let mut rules = rules.lock().ok()?;
    let rule = rules.iter_mut().find(|r| r.matches(method, path))?;
    if rule.skip > 0 {
        rule.skip -= 1;
        return None;
    }
    if let Some(n) = rule.times.as_mut() {
        *n -= 1;
    }
    Some(rule.fault.clone())
}

fn serve(mut client: TcpStream, upstream: &str, rules: &Rules, log: &Log) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_write_timeout(Some(IO_TIMEOUT))?;
    let (head, mut body) = read_head(&mut client)?;
    let head = String::from_utf8_lossy(&head).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("GET").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: u64 = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    if (body.len() as u64) < length {
        (&mut client)
            .take(length - body.len() as u64)
            .read_to_end(&mut body)?;
    }
    let path = target.split('?').next().unwrap_or_default().to_string();
    let fault = take_fault(rules, &method, &path);
    if let Ok(mut log) = log.lock() {
        log.push(Seen {
            method: method.clone(),
            target: target.clone(),
            fault: fault
                .as_ref()
                .map(|f| format!("{f:?}").chars().take(80).collect()),
        });
    }

    match &fault {
        Some(Fault::DropRequest) => {
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
        Some(Fault::Respond {
            status,
            headers,
            body,
        }) => {
            let mut out = format!("HTTP/1.1 {status} Injected\r\n");
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str(&format!(
                "content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            ));
            client.write_all(out.as_bytes())?;
            client.write_all(body)?;
            return client.flush();
        }
        _ => {}
    }

    let mut up = TcpStream::connect(upstream)?;
    up.set_read_timeout(Some(IO_TIMEOUT))?;
    up.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut forward = format!("{method} {target} HTTP/1.0\r\nConnection: close\r\n");
    let mut has_host = false;
    for (k, v) in &headers {
        let lower = k.to_ascii_lowercase();
        has_host |= lower == "host";
        if !["connection", "keep-alive"].contains(&lower.as_str()) {
            forward.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if !has_host {
        forward.push_str(&format!("Host: {upstream}\r\n"));
    }
    forward.push_str("\r\n");
    up.write_all(forward.as_bytes())?;
    if let Some(Fault::CutRequestBody) = fault {
        up.write_all(&body[..body.len() / 2])?;
        up.flush()?;
        // Give the registry a moment to take in what it got, then cut.
        std::thread::sleep(Duration::from_millis(100));
        let _ = up.shutdown(Shutdown::Both);
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    up.write_all(&body)?;
    let mut raw = Vec::new();
    up.take(MAX_BODY).read_to_end(&mut raw)?;
    if let Some(Fault::DropAfterForward) = fault {
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    let Some(response) = crate::http::parse_response(&raw) else {
        return Err(std::io::Error::other("upstream sent a malformed response"));
    };

    let mut headers = response.headers.clone();
    let mut body = response.body.clone();
    let mut announced = body.len();
    let mut cut_at = body.len();
    match (&fault, method.as_str()) {
        (None, _) | (Some(_), "HEAD") => {}
        (Some(Fault::CorruptBody), _) => {
            let middle = body.len() / 2;
            if let Some(b) = body.get_mut(middle) {
                *b ^= 0x5a;
            }
        }
        (Some(Fault::TruncateBody), _) => cut_at = body.len() / 2,
        (Some(Fault::ReplaceBodyDropHeaders(bytes, drop)), _) => {
            body = bytes.clone();
            announced = body.len();
            cut_at = body.len();
            headers.retain(|(k, _)| !drop.iter().any(|d| d.eq_ignore_ascii_case(k)));
        }
        (Some(Fault::ReplaceBody(bytes)), _) => {
            body = bytes.clone();
            announced = body.len();
            cut_at = body.len();
        }
        (Some(Fault::ReplaceBodyAndDigest(bytes)), _) => {
            body = bytes.clone();
            announced = body.len();
            cut_at = body.len();
            headers.retain(|(k, _)| k != "docker-content-digest");
            headers.push((
                "docker-content-digest".into(),
                format!("sha256:{}", hex::encode(sha2::Sha256::digest(&body))),
            ));
        }
        (Some(_), _) => {}
    }
    let mut out = format!("HTTP/1.1 {} Proxied\r\n", response.status);
    for (k, v) in &headers {
        let skip = [
            "content-length",
            "connection",
            "transfer-encoding",
            "keep-alive",
        ];
        if !skip.contains(&k.as_str()) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if method == "HEAD" {
        if let Some(len) = response.header("content-length") {
            out.push_str(&format!("content-length: {len}\r\n"));
        }
        out.push_str("connection: close\r\n\r\n");
        return client.write_all(out.as_bytes());
    }
    out.push_str(&format!(
        "content-length: {announced}\r\nconnection: close\r\n\r\n"
    ));
    client.write_all(out.as_bytes())?;
    client.write_all(&body[..cut_at])?;
    client.flush()?;
    // Closing here is the truncation; the client sees an early EOF.
    Ok(())
}
