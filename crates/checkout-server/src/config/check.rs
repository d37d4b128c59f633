//! What makes a configuration valid beyond each value's kind: every rule the server
//! would otherwise only meet at start, so that `checkout-server config check FILE` says
//! everything wrong with a file (all of it at once) before a restart finds it.

use super::Config;

/// Shortest secret or token the server accepts from its operator.
pub const MIN_SECRET_LEN: usize = 16;
/// Shortest backend key (`--backend-api-key`).
pub const MIN_BACKEND_KEY_LEN: usize = 32;

/// Shortest HS256 secret for the shop's tokens (RFC 7518 §3.2: at least the hash size).
pub const MIN_HS256_SECRET_LEN: usize = 32;

impl Config {
    /// The problems of the identity settings (CONTRACT §19).
    pub fn identity_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let sources = [
            self.jwt_jwks_url.is_some(),
            self.jwt_jwks_file.is_some(),
            self.jwt_hs256_secret.is_some(),
        ];
        let count = sources.iter().filter(|s| **s).count();
        if count > 1 {
            problems
                .push("--jwt-jwks-url, --jwt-jwks-file and --jwt-hs256-secret: choose one".into());
        }
        let tuned =
            self.jwt_issuer.is_some() || self.jwt_audience.is_some() || self.jwt_cookie.is_some();
        if count == 0 && tuned {
            problems.push(
                "--jwt-issuer, --jwt-audience and --jwt-cookie need --jwt-jwks-url, --jwt-jwks-file or --jwt-hs256-secret".into(),
            );
        }
        if self
            .jwt_hs256_secret
            .as_deref()
            .is_some_and(|s| s.len() < MIN_HS256_SECRET_LEN)
        {
            problems.push(format!(
                "--jwt-hs256-secret: at least {MIN_HS256_SECRET_LEN} characters"
            ));
        }
        if let Some(url) = &self.jwt_jwks_url {
            let ok = reqwest::Url::parse(url).is_ok_and(|u| {
                let loopback = matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
                u.scheme() == "https" || (u.scheme() == "http" && loopback)
            });
            if !ok {
                problems
                    .push("--jwt-jwks-url: an https:// URL (http:// only to this machine)".into());
            }
        }
        if let Some(name) = &self.jwt_cookie {
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token || name.ends_with("cg_login") {
                problems.push(
                    "--jwt-cookie: a cookie name (letters, digits, - _ .) other than the login cookie's".into(),
                );
            }
        }
        problems
    }

    /// Every problem of the settings, one per line; `Ok` when there is none.
    pub fn check(&self) -> Result<(), String> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self
            .webhook_secrets()
            .iter()
            .any(|s| s.len() < MIN_SECRET_LEN)
        {
            problems.push(format!(
                "--payment-webhook-secret: each secret has at least {MIN_SECRET_LEN} characters"
            ));
        }
        let short = |value: &Option<String>| {
            value
                .as_deref()
                .is_some_and(|t| t.trim().chars().count() < MIN_SECRET_LEN)
        };
        if short(&self.metrics_token) {
            problems.push(format!(
                "--metrics-token: at least {MIN_SECRET_LEN} characters"
            ));
        }
        if self
            .backend_keys()
            .iter()
            .any(|k| k.chars().count() < MIN_BACKEND_KEY_LEN || k.contains(char::is_whitespace))
        {
            problems.push(format!(
                "--backend-api-key: each key has at least {MIN_BACKEND_KEY_LEN} characters and no spaces"
            ));
        }
        if self.backend_keys().iter().any(|k| {
            Some(k.as_str()) == self.admin_token.as_deref().map(str::trim)
                || Some(k.as_str()) == self.metrics_token.as_deref().map(str::trim)
        }) {
            problems.push(
                "--backend-api-key: a backend key is never the admin or metrics token".into(),
            );
        }
        if !(60..=86_400).contains(&self.payment_action_timeout_secs) {
            problems.push("--payment-action-timeout-secs: from 60 to 86400 seconds".into());
        }
        if let Err(why) = self.provider() {
            problems.push(why);
        }
        if let Some(url) = &self.public_url {
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && url.len() <= 2_000
                && !url.contains(char::is_whitespace)
                && !url.contains(['?', '#']);
            if !ok {
                problems.push(
                    "--public-url: an http(s) address without query or fragment, e.g. https://shop.example"
                        .into(),
                );
            }
        }
        if let Some(token) = &self.admin_token {
            if crate::config::secrets::admin_token(Some(token), &self.data_dir).is_err() {
                problems.push(format!(
                    "--admin-token: at least {} characters and no spaces",
                    crate::config::secrets::MIN_ADMIN_TOKEN
                ));
            }
        }
        for (flag, secret) in [
            ("--token-secret", &self.token_secret),
            ("--previous-token-secret", &self.previous_token_secret),
        ] {
            if let Some(secret) = secret {
                if let Err(why) = checkout_core::token::SigningKey::new(secret.as_bytes().to_vec())
                {
                    problems.push(format!("{flag}: {}", why.message));
                }
            }
        }
        if let Some(url) = &self.database_url {
            let known = ["postgres://", "postgresql://", "sqlite:"];
            if !known.iter().any(|scheme| url.starts_with(scheme)) {
                problems.push("--database-url: use postgres://… or sqlite:…".into());
            }
        }
        if let Some(endpoint) = &self.otlp_endpoint {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                problems.push("--otlp-endpoint: an http:// or https:// URL".into());
            }
        }
        for origin in &self.trusted_origins {
            if !is_origin(origin) {
                problems.push(format!(
                    "--trusted-origin: {origin:?} is no origin (scheme://host[:port], nothing after)"
                ));
            }
        }
        problems.extend(self.identity_problems());
        if let Some(file) = &self.extra_ca_file {
            if let Err(why) = crate::outbound::Outbound::new(true, Some(file)) {
                problems.push(format!("--extra-ca-file: {why}"));
            }
        }
        problems
    }
}

/// `http(s)://host[:port]` and nothing more (an IPv6 host in brackets).
fn is_origin(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    let host = match rest.rsplit_once(':') {
        Some((host, port)) if !port.ends_with(']') => {
            if port.parse::<u16>().is_ok() {
                host
            } else {
                ""
            }
        }
        _ => rest,
    };
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
}

#[cfg(test)]
mod tests {
    use super::is_origin;

    #[test]
    fn an_origin_is_a_scheme_a_host_and_maybe_a_port() {
        for good in [
            "https://shop.example.com",
            "http://127.0.0.1:8080",
            "https://[::1]",
            "https://[::1]:8443",
        ] {
            assert!(is_origin(good), "{good}");
        }
        for bad in [
            "5",
            "shop.example.com",
            "ftp://shop.example.com",
            "https://shop.example.com/",
            "https://shop.example.com/path",
            "https://shop.example.com:99999",
            "https://",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }
}
