//! One persistent HTTP/1.1 connection to a server and the answers read from it.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{client::conn::http1, Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;

/// One persistent connection.
pub struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    host: String,
    /// Requests sent on this connection.
    pub sent: u64,
}

pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub cookie: Option<String>,
}

impl Conn {
    /// Signs a new shopper up (password [`crate::PASSWORD`]); the login cookie.
    pub async fn sign_up(&mut self, name: &str) -> Result<String, String> {
        let credentials = json!({"username": name, "password": crate::PASSWORD});
        let signup = self
            .send(
                Method::POST,
                "/api/v1/auth/signup",
                None,
                &[],
                Some(&credentials),
            )
            .await?;
        signup
            .cookie
            .ok_or(format!("sign-up failed: {} {}", signup.status, signup.body))
    }

    pub async fn open(base: &str) -> Result<Conn, String> {
        let host = base.trim_start_matches("http://").to_owned();
        let stream = TcpStream::connect(&host)
            .await
            .map_err(|e| format!("{host}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        Ok(Conn {
            sender,
            host,
            sent: 0,
        })
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let body = body.map(|b| ("application/json", Bytes::from(b.to_string())));
        self.send_bytes(method, path, cookie, headers, body).await
    }

    /// A form post, as a browser submits an HTML form (a bank's challenge page).
    pub async fn post_form(&mut self, path: &str, form: &str) -> Result<Answer, String> {
        let body = (
            "application/x-www-form-urlencoded",
            Bytes::from(form.to_owned()),
        );
        self.send_bytes(Method::POST, path, None, &[], Some(body))
            .await
    }

    async fn send_bytes(
        &mut self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<(&str, Bytes)>,
    ) -> Result<Answer, String> {
        self.sent += 1;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let bytes = match body {
            Some((content_type, bytes)) => {
                req = req.header("content-type", content_type);
                bytes
            }
            None => Bytes::new(),
        };
        let req = req.body(Full::new(bytes)).map_err(|e| e.to_string())?;
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let response = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            body,
            cookie,
        })
    }
}
