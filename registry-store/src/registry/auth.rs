//! Registry credentials the way the docker CLI finds them, so `docker login`
//! once is enough for Stella too.
//!
//! Order, as in docker/cli: a `credHelpers` entry for the registry, else the
//! `credsStore` helper, else the inline `auths` entry (`auth` = base64
//! `user:pass`, or `identitytoken`). Nothing found means anonymous access.
//! Helpers are run as `docker-credential-NAME get` with the server URL on
//! stdin; a helper that is missing or fails is an error naming it, never a
//! silent fallback to anonymous.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

use crate::StoreError;

/// Docker Hub's key in `config.json` and the server URL its helpers expect.
pub(crate) const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";
const DOCKER_HUB_ALIASES: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];
/// `config.json` bigger than this is refused (it holds a few credentials).
const MAX_CONFIG_JSON: u64 = 4 * 1024 * 1024;
/// A helper's answer bigger than this is refused.
const MAX_HELPER_OUTPUT: u64 = 1024 * 1024;
/// How long a credential helper may take (some prompt a keychain unlock).
const HELPER_TIMEOUT: Duration = Duration::from_secs(60);

/// What was found for a registry.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Secret {
    /// User name and password (or a personal access token).
    Basic { username: String, password: String },
    /// An OAuth2 refresh token (`identitytoken`, or a helper's `<token>` user).
    IdentityToken(String),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Secret::IdentityToken(_) => write!(f, "IdentityToken(<redacted>)"),
        }
    }
}

/// Credentials plus where they came from, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub secret: Secret,
    pub origin: String,
}

#[derive(Debug, Default, Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(rename = "credsStore", default)]
    creds_store: Option<String>,
    #[serde(rename = "credHelpers", default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// The docker config directory: the override, else `$DOCKER_CONFIG`, else `~/.docker`.
pub(crate) fn config_dir(overridden: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = overridden {
        return Some(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".docker"))
}

/// `https://host:port/v1/` → `host:port`, as docker's `ConvertToHostname`.
fn to_hostname(key: &str) -> &str {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or(rest)
}

fn is_docker_hub(host: &str) -> bool {
    DOCKER_HUB_ALIASES.contains(&host)
}

/// True when a `config.json` key names `registry` (a `host[:port]`).
fn key_matches(key: &str, registry: &str) -> bool {
    let host = to_hostname(key);
    host == registry || (is_docker_hub(host) && is_docker_hub(registry))
}

/// The server URL a credential helper is asked about.
pub(crate) fn server_url(registry: &str) -> String {
    if is_docker_hub(registry) {
        DOCKER_HUB_SERVER.to_string()
    } else {
        registry.to_string()
    }
}

/// Finds credentials for `registry` (`host[:port]`, `docker.io` for the Hub)
/// in the docker config under `dir`. `Ok(None)` means: go anonymous.
pub(crate) fn lookup(
    registry: &str,
    dir: Option<&Path>,
) -> Result<Option<Credentials>, StoreError> {
    let Some(dir) = dir else {
        return Ok(None);
    };
    let path = dir.join("config.json");
    let bytes = match std::fs::File::open(&path) {
        Ok(f) => {
            let mut buf = Vec::new();
            f.take(MAX_CONFIG_JSON + 1)
                .read_to_end(&mut buf)
                .map_err(|e| StoreError::io(&path, e))?;
            if buf.len() as u64 > MAX_CONFIG_JSON {
                return Err(StoreError::TooLarge {
                    what: path.display().to_string(),
                    size: buf.len() as u64,
                    limit: MAX_CONFIG_JSON,
                });
            }
            buf
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(&path, e)),
    };
    let config: DockerConfig = serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::malformed(path.display().to_string(), e))?;
    from_config(&config, registry, &path)
}

fn from_config(
    config: &DockerConfig,
    registry: &str,
    path: &Path,
) -> Result<Option<Credentials>, StoreError> {
    let server = server_url(registry);
    if let Some(helper) = config
        .cred_helpers
        .iter()
        .find(|(key, _)| key_matches(key, registry))
        .map(|(_, helper)| helper)
    {
        // A registry-specific helper is authoritative: "not found" means anonymous.
        return run_helper(
            helper,
            &server,
            &format!("credHelpers in {}", path.display()),
        );
    }
    if let Some(store) = config.creds_store.as_deref().filter(|s| !s.is_empty()) {
        if let Some(found) =
            run_helper(store, &server, &format!("credsStore in {}", path.display()))?
        {
            return Ok(Some(found));
        }
    }
    let Some((key, entry)) = config
        .auths
        .iter()
        .find(|(key, _)| key_matches(key, registry))
    else {
        return Ok(None);
    };
    let origin = format!("auths[{key:?}] in {}", path.display());
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credentials {
            secret: Secret::IdentityToken(token.to_string()),
            origin,
        }));
    }
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|e| StoreError::malformed(&origin, format!("auth is not base64: {e}")))?;
        let text = String::from_utf8(decoded)
            .map_err(|_| StoreError::malformed(&origin, "auth is not UTF-8"))?;
        let (username, password) = text
            .split_once(':')
            .ok_or_else(|| StoreError::malformed(&origin, "auth is not base64 of user:password"))?;
        return Ok(Some(Credentials {
            secret: Secret::Basic {
                username: username.to_string(),
                password: password.to_string(),
            },
            origin,
        }));
    }
    if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
        return Ok(Some(Credentials {
            secret: Secret::Basic {
                username: username.clone(),
                password: password.clone(),
            },
            origin,
        }));
    }
    Ok(None)
}

/// Runs `docker-credential-NAME get`. `Ok(None)` when the helper has no
/// credentials for the server.
fn run_helper(name: &str, server: &str, origin: &str) -> Result<Option<Credentials>, StoreError> {
    let program = format!("docker-credential-{name}");
    let fail = |reason: String| StoreError::Registry {
        registry: server.to_string(),
        reason: format!("credential helper {program} (from {origin}) failed: {reason}"),
    };
    if name.is_empty() || name.contains(['/', '\\']) {
        return Err(fail("not a valid helper name".into()));
    }
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                fail("not found on PATH; install it or fix the docker config".into())
            } else {
                fail(format!("cannot start it: {e}"))
            }
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading stdin is judged by its exit status.
        let _ = stdin.write_all(server.as_bytes());
    }
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let read_all = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(p) = pipe {
                let _ = p.take(MAX_HELPER_OUTPUT).read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_thread = read_all(stdout.map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err_thread = read_all(stderr.map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + HELPER_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "no answer within {}s",
                    HELPER_TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(fail(format!("cannot wait for it: {e}"))),
        }
    };
    let out = out_thread.join().unwrap_or_default();
    let err = err_thread.join().unwrap_or_default();
    let out_text = String::from_utf8_lossy(&out);
    let err_text = String::from_utf8_lossy(&err);
    if !status.success() {
        let said = format!("{} {}", out_text.trim(), err_text.trim());
        if said.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        return Err(fail(format!("{status}: {}", said.trim())));
    }
    let answer: HelperAnswer = serde_json::from_slice(&out)
        .map_err(|e| fail(format!("its answer is not the expected JSON: {e}")))?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    let origin = format!("{program} (from {origin})");
    let secret = if answer.username == "<token>" {
        Secret::IdentityToken(answer.secret)
    } else {
        Secret::Basic {
            username: answer.username,
            password: answer.secret,
        }
    };
    Ok(Some(Credentials { secret, origin }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> DockerConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn hostnames_and_hub_aliases() {
        assert_eq!(
            to_hostname("https://index.docker.io/v1/"),
            "index.docker.io"
        );
        assert_eq!(to_hostname("http://localhost:5000"), "localhost:5000");
        assert_eq!(to_hostname("ghcr.io"), "ghcr.io");
        assert!(key_matches("https://index.docker.io/v1/", "docker.io"));
        assert!(key_matches("docker.io", "index.docker.io"));
        assert!(!key_matches("ghcr.io", "docker.io"));
        assert_eq!(server_url("docker.io"), DOCKER_HUB_SERVER);
        assert_eq!(server_url("127.0.0.1:5000"), "127.0.0.1:5000");
    }

    #[test]
    fn inline_auths() {
        let path = Path::new("/x/config.json");
        // "alice:s3cr:et" — the password may itself hold a colon.
        let c = parse(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"YWxpY2U6czNjcjpldA=="},
                "reg.example:5000":{"identitytoken":"tok"},
                "old.example":{"username":"u","password":"p"}}}"#,
        );
        let hub = from_config(&c, "docker.io", path).unwrap().unwrap();
        assert_eq!(
            hub.secret,
            Secret::Basic {
                username: "alice".into(),
                password: "s3cr:et".into()
            }
        );
        assert!(hub.origin.contains("index.docker.io"));
        let tok = from_config(&c, "reg.example:5000", path).unwrap().unwrap();
        assert_eq!(tok.secret, Secret::IdentityToken("tok".into()));
        let old = from_config(&c, "old.example", path).unwrap().unwrap();
        assert!(matches!(old.secret, Secret::Basic { .. }));
        assert!(from_config(&c, "other.example", path).unwrap().is_none());
        let bad = parse(r#"{"auths":{"x.example":{"auth":"!!!"}}}"#);
        assert!(from_config(&bad, "x.example", path).is_err());
    }

    #[test]
    fn missing_helper_is_named() {
        let c = parse(r#"{"credHelpers":{"x.example":"stella-test-no-such-helper"}}"#);
        let err = from_config(&c, "x.example", Path::new("/x/config.json"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("docker-credential-stella-test-no-such-helper"),
            "{err}"
        );
        assert!(err.contains("not found"), "{err}");
    }

    #[test]
    fn missing_config_is_anonymous() {
        let dir = tempfile::tempdir().unwrap();
        assert!(lookup("docker.io", Some(dir.path())).unwrap().is_none());
    }
}
