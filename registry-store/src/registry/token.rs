//! The OAuth2 refresh-token exchange behind `identitytoken` credentials.
//!
//! `docker login` against registries with an OAuth2 token service (Docker
//! Hub with SSO, ACR, …) stores a refresh token instead of a password.
//! oci-client only knows basic-authenticated token requests, so this asks
//! the registry's token service for an access token the way docker does
//! (`POST realm` with `grant_type=refresh_token`) and hands oci-client the
//! bearer token.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// A token answer bigger than this is refused.
const MAX_TOKEN_RESPONSE: usize = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

/// Exchanges `refresh_token` for a token of `repository` allowing `actions`
/// (`pull` or `pull,push`). `ping_url` is the registry's `/v2/`, whose
/// challenge names the token service.
pub(crate) async fn exchange_identity_token(
    ping_url: String,
    repository: String,
    refresh_token: String,
    actions: &'static str,
) -> Result<String, String> {
    let http = crate::tls::client_builder()
        .connect_timeout(TIMEOUT)
        .timeout(TIMEOUT)
        .user_agent(concat!("stella/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up an HTTP client: {e}"))?;
    let ping = http
        .get(&ping_url)
        .send()
        .await
        .map_err(|e| format!("cannot reach {ping_url}: {e}"))?;
    let challenge = ping
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_bearer_challenge)
        .ok_or_else(|| {
            format!("an identity token needs a token service, but {ping_url} offers no Bearer challenge")
        })?;
    let realm = challenge
        .get("realm")
        .ok_or("the Bearer challenge names no realm")?;
    let scope = format!("repository:{repository}:{actions}");
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
        ("client_id", "stella"),
        ("scope", scope.as_str()),
    ];
    if let Some(service) = challenge.get("service") {
        form.push(("service", service.as_str()));
    }
    let mut answer = http
        .post(realm)
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("cannot reach token service {realm}: {e}"))?;
    let status = answer.status();
    let mut body = Vec::new();
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|e| format!("token service {realm}: {e}"))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_TOKEN_RESPONSE {
            return Err(format!("token service {realm} sent an oversized answer"));
        }
    }
    if !status.is_success() {
        return Err(format!(
            "token service {realm} refused the identity token (HTTP {status})"
        ));
    }
    let parsed: TokenAnswer = serde_json::from_slice(&body)
        .map_err(|e| format!("token service {realm} sent an unreadable answer: {e}"))?;
    parsed
        .access_token
        .or(parsed.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("token service {realm} sent no token"))
}

/// Parses `Bearer realm="…",service="…"` into lower-cased keys and values.
pub(super) fn parse_bearer_challenge(header: &str) -> Option<BTreeMap<String, String>> {
    let header = header.trim();
    let (scheme, params) = header.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut out = BTreeMap::new();
    let mut chars = params.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != ',') {
            key.push(c);
        }
        if key.trim().is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            return None;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let c = parse_bearer_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a\"b:pull""#,
        )
        .unwrap();
        assert_eq!(c["realm"], "https://auth.docker.io/token");
        assert_eq!(c["service"], "registry.docker.io");
        assert_eq!(c["scope"], "repository:a\"b:pull");
        let c = parse_bearer_challenge("bearer realm=https://x/token, service=x").unwrap();
        assert_eq!(c["realm"], "https://x/token");
        assert_eq!(c["service"], "x");
        assert!(parse_bearer_challenge(r#"Basic realm="registry""#).is_none());
        assert!(parse_bearer_challenge(r#"Bearer realm="unterminated"#).is_none());
    }
}
