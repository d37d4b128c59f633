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
