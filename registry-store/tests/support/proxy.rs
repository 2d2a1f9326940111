//! A registry that lies: a small HTTP proxy, loopback only, in front of a
//! real registry, that tampers with chosen responses (wrong bytes, cut
//! bodies, swapped manifests). One request per connection, every socket
//! with timeouts, every body bounded; it stops when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use stella_model::Digest;

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: u64 = 64 * 1024 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served over the proxy's life; tests make a few dozen.
const MAX_CONNECTIONS: usize = 10_000;

#[derive(Clone, Debug)]
pub enum Fault {
    /// Flip one byte in the middle of the body; headers untouched.
    CorruptBody,
    /// Announce the full length, send half the body, close.
    TruncateBody,
    /// Serve these bytes instead; headers (Docker-Content-Digest too) untouched.
    ReplaceBody(Vec<u8>),
    /// Serve these bytes with a Docker-Content-Digest that matches them.
    ReplaceBodyAndDigest(Vec<u8>),
}

type Faults = Arc<Mutex<Vec<(String, Fault)>>>;

pub struct Proxy {
    pub addr: String,
    faults: Faults,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicUsize>,
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
        let faults: Faults = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (faults, stop, served) = (faults.clone(), stop.clone(), served.clone());
            let upstream = upstream.to_string();
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst)
                    && served.load(Ordering::SeqCst) < MAX_CONNECTIONS
                {
                    match listener.accept() {
                        Ok((client, _)) => {
                            served.fetch_add(1, Ordering::SeqCst);
                            let (faults, upstream) = (faults.clone(), upstream.clone());
                            std::thread::spawn(move || {
                                let _ = serve(client, &upstream, &faults);
                            });
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Proxy {
            addr,
            faults,
            stop,
            served,
            thread: Some(thread),
        }
    }

    /// Applies `fault` to requests whose path (sans query) ends with `suffix`.
    pub fn inject(&self, suffix: &str, fault: Fault) {
        self.faults
            .lock()
            .expect("faults")
            .push((suffix.to_string(), fault));
    }

    pub fn clear(&self) {
        self.faults.lock().expect("faults").clear();
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

fn serve(mut client: TcpStream, upstream: &str, faults: &Faults) -> std::io::Result<()> {
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

    let mut up = TcpStream::connect(upstream)?;
    up.set_read_timeout(Some(IO_TIMEOUT))?;
    up.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut forward =
        format!("{method} {target} HTTP/1.0\r\nHost: {upstream}\r\nConnection: close\r\n");
    for (k, v) in &headers {
        if !["host", "connection", "keep-alive"].contains(&k.to_ascii_lowercase().as_str()) {
            forward.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    forward.push_str("\r\n");
    up.write_all(forward.as_bytes())?;
    up.write_all(&body)?;
    let mut raw = Vec::new();
    up.take(MAX_BODY).read_to_end(&mut raw)?;
    let Some(response) = super::parse_response(&raw) else {
        return Err(std::io::Error::other("upstream sent a malformed response"));
    };

    let path = target.split('?').next().unwrap_or_default();
    let fault = faults
        .lock()
        .map_err(|_| std::io::Error::other("poisoned"))?
        .iter()
        .find(|(suffix, _)| path.ends_with(suffix.as_str()))
        .map(|(_, f)| f.clone());
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
                Digest::sha256_of(&body).to_string(),
            ));
        }
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
    // Closing here is the truncation; hyper sees an early EOF.
    Ok(())
}
