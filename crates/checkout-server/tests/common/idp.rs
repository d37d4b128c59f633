//! The shop's identity provider for tests (CONTRACT §19): keys and tokens made by PyJWT
//! and `cryptography` (tests/identity/tokens.py), never by this server's code.

use super::*;
use reqwest::header;

/// The shop's identity provider: keys made by tokens.py, tokens minted by it.
pub struct Idp {
    pub dir: tempfile::TempDir,
}

pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/identity/tokens.py")
}

impl Idp {
    pub fn new() -> Idp {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("python3")
            .arg(script())
            .arg("keys")
            .arg(dir.path())
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "tokens.py keys failed (the test command installs PyJWT[crypto]): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Idp { dir }
    }

    pub fn jwks_file(&self) -> PathBuf {
        self.dir.path().join("jwks.json")
    }

    pub fn jwks(&self) -> String {
        std::fs::read_to_string(self.jwks_file()).unwrap()
    }

    /// Mints every request at once (one Python start).
    pub fn mint(&self, requests: &[Value]) -> Vec<String> {
        use std::io::Write;
        let mut child = std::process::Command::new("python3")
            .arg(script())
            .arg("mint")
            .arg(self.dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(Value::from(requests.to_vec()).to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "tokens.py mint: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn one(&self, request: Value) -> String {
        self.mint(&[request]).remove(0)
    }
}

/// A shopper whose every request carries `token` as `Authorization: Bearer`.
pub fn customer(server: &Server, name: &str, token: &str) -> Shopper {
    let mut headers = header::HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    Shopper {
        client: Client::builder().default_headers(headers).build().unwrap(),
        base: server.base.clone(),
        name: name.to_owned(),
    }
}
