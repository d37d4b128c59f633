//! `checkout-demo-identity`: a stand-in for a shop's own identity provider, for the demo
//! (`cargo xtask run` starts it). It is what a shop's login would be to Checkout Guard
//! (CONTRACT §19), and nothing more:
//!
//! - `GET /`: a page to sign in as any customer id, for a chosen number of minutes,
//!   optionally as an agent acting for them (the `act` claim).
//! - `POST /sign-in`: sets the cookie `shop_id_token` to an EdDSA-signed token (`sub`,
//!   `email`, `name`, `sid`, `iss`, `aud`, `exp`) and goes to the storefront. Cookies do
//!   not separate ports, so the storefront on the same host sends it to the server.
//! - `POST /sign-out`: clears the cookie and sends the checkout server an OpenID Connect
//!   back-channel logout for that customer.
//! - `GET /jwks.json`: the public key, which the server fetches (`--jwt-jwks-url`).
//!
//! The key is made at start and never written anywhere. This is a demo: a real shop
//! uses its identity provider (Keycloak, Auth0, Entra ID, its own OIDC server).

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
    Form, Json, Router,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use clap::Parser;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Deserialize;
use serde_json::{json, Value};

/// The cookie the token travels in (give the server `--jwt-cookie shop_id_token`).
const COOKIE: &str = "shop_id_token";

/// The demo identity provider.
#[derive(Debug, Clone, Parser)]
#[command(name = "checkout-demo-identity", version, about)]
struct Options {
    /// Address to listen on (loopback).
    #[arg(long, env = "IDENTITY_BIND", default_value = "127.0.0.1:8082")]
    bind: SocketAddr,
    /// The storefront and checkout server, for the way back and for back-channel logouts.
    #[arg(
        long,
        env = "IDENTITY_CHECKOUT_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    checkout_url: String,
    /// The `aud` of the tokens (give the server the same `--jwt-audience`).
    #[arg(long, env = "IDENTITY_AUDIENCE", default_value = "checkout-guard")]
    audience: String,
}

struct Provider {
    options: Options,
    issuer: String,
    kid: String,
    signing: EncodingKey,
    verifying: DecodingKey,
    public_x: String,
    http: reqwest::Client,
}

type Shared = Arc<Provider>;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let options = Options::parse();
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| e.to_string())?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|e| e.to_string())?;
    let public = pair.public_key().as_ref().to_vec();
    let public_x = URL_SAFE_NO_PAD.encode(&public);
    let provider = Arc::new(Provider {
        issuer: format!("http://{}", options.bind),
        kid: format!("demo-{}", &public_x[..8]),
        signing: EncodingKey::from_ed_der(pkcs8.as_ref()),
        verifying: DecodingKey::from_ed_der(&public),
        public_x,
        http: reqwest::Client::new(),
        options,
    });
    let app = Router::new()
        .route("/", get(page))
        .route("/sign-in", post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/jwks.json", get(jwks))
        .with_state(provider.clone());
    let listener = tokio::net::TcpListener::bind(provider.options.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", provider.options.bind))?;
    eprintln!(
        "checkout-demo-identity: sign in at http://{}/ (issuer {}, audience {})",
        provider.options.bind, provider.issuer, provider.options.audience
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

async fn jwks(State(p): State<Shared>) -> Json<Value> {
    Json(json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "x": p.public_x, "kid": p.kid, "use": "sig", "alg": "EdDSA"
    }]}))
}

/// The token in the request's cookie, if it is one of ours and still valid.
fn signed_in(p: &Provider, headers: &HeaderMap) -> Option<Value> {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(&format!("{COOKIE}=")))?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[&p.options.audience]);
    jsonwebtoken::decode::<Value>(token, &p.verifying, &validation)
        .ok()
        .map(|t| t.claims)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn page(State(p): State<Shared>, headers: HeaderMap) -> Html<String> {
    let status = match signed_in(&p, &headers) {
        Some(claims) => format!(
            "<p>Signed in as <strong>{}</strong>{} until {} (Unix time; now {}).</p>\
             <form method=post action=/sign-out><button>Sign out everywhere (back-channel logout)</button></form>",
            escape(claims["sub"].as_str().unwrap_or_default()),
            claims["act"]["sub"].as_str().map(|a| format!(", agent {}", escape(a))).unwrap_or_default(),
            claims["exp"],
            now()
        ),
        None => "<p>Not signed in.</p>".to_owned(),
    };
    Html(format!(
        "<!doctype html><html lang=en><meta charset=utf-8>\
<meta name=viewport content='width=device-width, initial-scale=1'>\
<title>Shop identity (demo)</title>\
<style>body{{font:16px system-ui;max-width:34rem;margin:2rem auto;padding:0 1rem}}label{{display:block;margin:.6rem 0}}input{{font:inherit;width:100%}}</style>\
<h1>Shop identity (demo)</h1>\
<p>This page stands in for the shop's own login. It signs you in with a token that \
Checkout Guard checks against this page's key set; the storefront at \
<a href='{checkout}/'>{checkout}</a> then knows you without a password.</p>{status}\
<form method=post action=/sign-in>\
<label>Customer id <input name=sub required maxlength=255 value='customer-1001' autocomplete=username></label>\
<label>E-mail <input name=email type=email value='reader@example.com' autocomplete=email></label>\
<label>Name <input name=name value='Ada Reader' autocomplete=name></label>\
<label>Sign-in lasts (minutes) <input name=minutes type=number min=1 max=1440 value=30></label>\
<label>Acting agent (optional: support staff acting for the customer) <input name=agent maxlength=255></label>\
<button>Sign in and go to the shop</button></form>",
        checkout = escape(&p.options.checkout_url),
    ))
}

#[derive(Debug, Deserialize)]
struct SignIn {
    sub: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    minutes: i64,
    #[serde(default)]
    agent: String,
}

/// Whether a form post came from this page (a cross-site form could sign someone in
/// as the attacker).
fn same_origin(p: &Provider, headers: &HeaderMap) -> bool {
    headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_none_or(|o| o == p.issuer || o == p.issuer.replace("127.0.0.1", "localhost"))
}

fn cookie(value: &str, max_age: i64) -> String {
    format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}")
}

async fn sign_in(
    State(p): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    if !same_origin(&p, &headers) {
        return (StatusCode::FORBIDDEN, "cross-site sign-in refused").into_response();
    }
    let minutes = form.minutes.clamp(1, 1440);
    let at = now();
    let mut claims = json!({
        "iss": p.issuer, "aud": p.options.audience, "sub": form.sub.trim(),
        "iat": at, "exp": at + minutes * 60, "sid": uuid::Uuid::new_v4().to_string(),
    });
    for (field, value) in [("email", &form.email), ("name", &form.name)] {
        if !value.trim().is_empty() {
            claims[field] = value.trim().into();
        }
    }
    if !form.agent.trim().is_empty() {
        claims["act"] = json!({"sub": form.agent.trim()});
    }
    let mut head = Header::new(Algorithm::EdDSA);
    head.kid = Some(p.kid.clone());
    let Ok(token) = jsonwebtoken::encode(&head, &claims, &p.signing) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "could not sign").into_response();
    };
    let mut response = Redirect::to(&format!("{}/", p.options.checkout_url)).into_response();
    if let Ok(value) = cookie(&token, minutes * 60).parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn sign_out(State(p): State<Shared>, headers: HeaderMap) -> Response {
    if !same_origin(&p, &headers) {
        return (StatusCode::FORBIDDEN, "cross-site sign-out refused").into_response();
    }
    if let Some(claims) = signed_in(&p, &headers) {
        let at = now();
        let logout = json!({
            "iss": p.issuer, "aud": p.options.audience, "sub": claims["sub"], "sid": claims["sid"],
            "iat": at, "exp": at + 120, "jti": uuid::Uuid::new_v4().to_string(),
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        });
        let mut head = Header::new(Algorithm::EdDSA);
        head.kid = Some(p.kid.clone());
        head.typ = Some("logout+jwt".into());
        if let Ok(token) = jsonwebtoken::encode(&head, &logout, &p.signing) {
            let url = format!("{}/api/v1/auth/backchannel-logout", p.options.checkout_url);
            match p
                .http
                .post(&url)
                .form(&[("logout_token", token)])
                .send()
                .await
            {
                Ok(answer) => eprintln!("back-channel logout: {}", answer.status()),
                Err(error) => eprintln!("back-channel logout failed: {error}"),
            }
        }
    }
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = cookie("", 0).parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
