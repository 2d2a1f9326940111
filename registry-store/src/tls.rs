//! The TLS policy of every HTTP client this crate builds itself: the
//! platform's trust roots (rustls-platform-verifier, exactly what reqwest
//! uses by default), loaded **on the first certificate to verify** and then
//! shared by the whole process.
//!
//! Why: reqwest loads and parses the system roots every time a client is
//! built — ≈ 20 ms here (`/etc/ssl/certs`, ~150 certificates) — and a
//! command like `stella attach` against a loopback registry built four
//! clients and never spoke TLS at all. Now a plain-HTTP run loads no roots,
//! and an HTTPS run loads them once.
//!
//! Only the root store is deferred; signature checks and hostname checks are
//! rustls' and the platform verifier's own, unchanged.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_platform_verifier::Verifier;

/// A `reqwest::ClientBuilder` with the process's shared TLS configuration
/// (reqwest's own defaults if rustls cannot offer its safe protocol versions,
/// which the aws-lc-rs provider always can).
pub fn client_builder() -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    match shared_config() {
        Some(config) => builder.tls_backend_preconfigured(config.as_ref().clone()),
        None => builder,
    }
}

fn shared_config() -> Option<&'static Arc<rustls::ClientConfig>> {
    static CONFIG: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let verifier = LazyPlatformVerifier {
                provider: provider.clone(),
                platform: OnceLock::new(),
            };
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .ok()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            // What reqwest offers itself when built with HTTP/1 only.
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(Arc::new(config))
        })
        .as_ref()
}

/// The platform verifier, built when the first server certificate arrives.
#[derive(Debug)]
struct LazyPlatformVerifier {
    provider: Arc<CryptoProvider>,
    platform: OnceLock<Result<Verifier, String>>,
}

impl LazyPlatformVerifier {
    fn platform(&self) -> Result<&Verifier, rustls::Error> {
        self.platform
            .get_or_init(|| Verifier::new(self.provider.clone()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| rustls::Error::General(format!("loading the system's trust roots: {e}")))
    }
}

impl ServerCertVerifier for LazyPlatformVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.platform()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
