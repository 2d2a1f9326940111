//! The TLS policy of our HTTP clients (`stella_registry_store::tls`),
//! against a real TLS server (`openssl s_server`) and real certificates
//! made by the `openssl` CLI:
//! - trust roots are loaded lazily: a plain-HTTP request (to a real
//!   distribution registry) works before the CA file even exists, and the
//!   HTTPS request afterwards trusts the CA written in between;
//! - a server whose certificate chains to that CA is accepted;
//! - a certificate from another CA and a certificate for another host name
//!   are refused.
//!
//! One test: the roots are process-wide, read from `SSL_CERT_FILE`.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stella_testkit::distribution::Distribution;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (apt package openssl) runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `name.key` + `name.pem` signed by `ca` (or self-signed), for `san`.
fn certificate(dir: &Path, name: &str, ca: Option<&str>, san: &str) {
    let key = format!("{name}.key");
    let pem = format!("{name}.pem");
    let ext = format!("{name}.ext");
    std::fs::write(dir.join(&ext), format!("subjectAltName={san}\n")).unwrap();
    match ca {
        None => openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &pem,
                "-days",
                "2",
                "-subj",
                &format!("/CN={name}"),
                "-addext",
                &format!("subjectAltName={san}"),
            ],
        ),
        Some(ca) => {
            let csr = format!("{name}.csr");
            openssl(
                dir,
                &[
                    "req",
                    "-new",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-keyout",
                    &key,
                    "-out",
                    &csr,
                    "-subj",
                    &format!("/CN={name}"),
                ],
            );
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &format!("{ca}.pem"),
                    "-CAkey",
                    &format!("{ca}.key"),
                    "-CAcreateserial",
                    "-out",
                    &pem,
                    "-days",
                    "2",
                    "-extfile",
                    &ext,
                ],
            );
        }
    }
}

/// `openssl s_server -www` with `name`'s certificate on a free loopback port.
struct TlsServer {
    child: Child,
    port: u16,
}

impl TlsServer {
    fn start(dir: &Path, name: &str) -> TlsServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .args([
                "-cert",
                &format!("{name}.pem"),
                "-key",
                &format!("{name}.key"),
            ])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "s_server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsServer { child, port }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET `url` with a client from our TLS policy: the status, or the error chain.
fn get(runtime: &tokio::runtime::Runtime, url: &str) -> Result<u16, String> {
    let client = stella_registry_store::tls::client_builder()
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| format!("build: {e}"))?;
    runtime.block_on(async {
        client
            .get(url)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| {
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    text.push_str(&format!(": {s}"));
                    source = s.source();
                }
                text
            })
    })
}

#[test]
fn trust_roots_are_lazy_and_verification_is_real() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    // Before any client exists; nothing else in this process reads them.
    std::env::set_var("SSL_CERT_FILE", &ca_file);
    std::env::remove_var("SSL_CERT_DIR");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // Plain HTTP with no CA file on disk at all: no roots are needed.
    let registry = Distribution::start(None);
    assert_eq!(
        get(&runtime, &format!("http://{}/v2/", registry.addr)),
        Ok(200)
    );

    certificate(dir.path(), "ca", None, "DNS:stella-test-ca");
    certificate(dir.path(), "server", Some("ca"), "IP:127.0.0.1");
    certificate(dir.path(), "rogue-ca", None, "DNS:rogue-ca");
    certificate(dir.path(), "rogue", Some("rogue-ca"), "IP:127.0.0.1");
    certificate(dir.path(), "elsewhere", Some("ca"), "DNS:registry.example");
    assert!(ca_file.is_file());

    let trusted = TlsServer::start(dir.path(), "server");
    assert_eq!(
        get(&runtime, &format!("https://127.0.0.1:{}/", trusted.port)),
        Ok(200),
        "the CA written after the first client was built must be trusted"
    );

    let rogue = TlsServer::start(dir.path(), "rogue");
    let refused = get(&runtime, &format!("https://127.0.0.1:{}/", rogue.port)).unwrap_err();
    assert!(
        refused.contains("UnknownIssuer") || refused.to_lowercase().contains("unknown issuer"),
        "a certificate from a CA we do not trust must be refused: {refused}"
    );

    let elsewhere = TlsServer::start(dir.path(), "elsewhere");
    let refused = get(&runtime, &format!("https://127.0.0.1:{}/", elsewhere.port)).unwrap_err();
    assert!(
        refused.contains("NotValidForName") || refused.to_lowercase().contains("not valid for"),
        "a certificate for another name must be refused: {refused}"
    );
}
