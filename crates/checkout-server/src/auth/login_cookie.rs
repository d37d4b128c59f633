//! The login cookie: its name and attributes (CONTRACT §11).

/// Name of the login cookie over plain HTTP.
pub const LOGIN_COOKIE: &str = "cg_login";

/// Name of the login cookie when the shop is served over HTTPS: the `__Host-` prefix
/// makes the browser refuse it unless it is `Secure`, has `Path=/` and no `Domain`, so
/// no sibling subdomain or plain-HTTP page can plant or overwrite it.
pub const SECURE_LOGIN_COOKIE: &str = "__Host-cg_login";

/// How this server writes and reads its login cookie (CONTRACT §11).
#[derive(Debug, Clone, Copy, Default)]
pub struct LoginCookie {
    /// Served over HTTPS (`--secure-cookies`): `__Host-` name and `Secure`.
    pub secure: bool,
}

impl LoginCookie {
    /// The cookie's name.
    pub fn name(self) -> &'static str {
        if self.secure {
            SECURE_LOGIN_COOKIE
        } else {
            LOGIN_COOKIE
        }
    }

    /// The `Set-Cookie` value for `token`, valid `max_age` seconds (0 clears it).
    pub fn set(self, token: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
            self.name()
        )
    }
}
