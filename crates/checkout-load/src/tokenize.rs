//! The payment provider's tokenization endpoint, as a storefront calls it: found through
//! the server's `/api/v1/payments/config`, one connection per simulated browser.

use hyper::Method;
use serde_json::json;

use crate::Conn;

/// A connection to the provider's tokenization endpoint.
pub struct Tokenizer {
    conn: Conn,
    path: String,
    auth: String,
}

impl Tokenizer {
    /// Asks the server where to tokenize and opens a connection there.
    pub async fn open(server: &mut Conn) -> Result<Tokenizer, String> {
        let setup = server
            .send(Method::GET, "/api/v1/payments/config", None, &[], None)
            .await?;
        let url = setup.body["tokenize_url"].as_str().unwrap_or_default();
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("tokenize_url {url:?} is not http://"))?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        Ok(Tokenizer {
            conn: Conn::open(&format!("http://{host}")).await?,
            path: format!("/{path}"),
            auth: format!(
                "Bearer {}",
                setup.body["publishable_key"].as_str().unwrap_or_default()
            ),
        })
    }

    /// The shopper's browser presses Approve on the provider's 3-D Secure challenge
    /// page at `url` (`next_action.url`, on the provider this tokenizer talks to).
    pub async fn approve_challenge(&mut self, url: &str) -> Result<(), String> {
        let (path, secret) = url
            .split_once("/challenge/")
            .and_then(|(_, rest)| rest.split_once("?secret="))
            .ok_or_else(|| format!("not a challenge page: {url}"))?;
        let pressed = self
            .conn
            .post_form(
                &format!("/challenge/{path}"),
                &format!("secret={secret}&outcome=approve"),
            )
            .await?;
        if pressed.status == 303 {
            Ok(())
        } else {
            Err(format!("challenge: {}", pressed.status))
        }
    }

    /// A token for `card`.
    pub async fn tokenize(&mut self, card: &str) -> Result<String, String> {
        let answer = self
            .conn
            .send(
                Method::POST,
                &self.path,
                None,
                &[("authorization", &self.auth)],
                Some(&json!({ "card_number": card })),
            )
            .await?;
        answer.body["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("tokenize: {} {}", answer.status, answer.body))
    }
}
