//! Secrets: the recovery-token signing keys and the admin token. Each comes from the
//! configuration; when absent it is generated once into the data directory (mode 0600)
//! and reused on every start, so restarts keep tokens valid.

use std::{fs, io::Write, path::Path};

use checkout_core::token::SigningKey;
use rand::RngCore;

fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads `name` from the data directory, or creates it with fresh random content.
/// Returns the value and whether it was just created.
fn load_or_create(dir: &Path, name: &str) -> Result<(String, bool), String> {
    let path = dir.join(name);
    if let Ok(existing) = fs::read_to_string(&path) {
        let value = existing.trim().to_owned();
        if !value.is_empty() {
            crate::config::data_dir::narrow(&path)?;
            return Ok((value, false));
        }
    }
    crate::config::data_dir::prepare(dir)?;
    let value = random_hex(32);
    let mut file = crate::config::data_dir::private_file(&path, true)?;
    file.write_all(value.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((value, true))
}

/// The signing keys: the configured (or generated) secret first, then the previous
/// one when rotating.
pub fn signing_keys(
    configured: Option<&str>,
    previous: Option<&str>,
    data_dir: &Path,
) -> Result<Vec<SigningKey>, String> {
    let current = match configured {
        Some(secret) => secret.to_owned(),
        None => load_or_create(data_dir, "token-secret")?.0,
    };
    let mut keys = vec![SigningKey::new(current.into_bytes()).map_err(|e| e.message)?];
    if let Some(previous) = previous {
        keys.push(SigningKey::new(previous.as_bytes().to_vec()).map_err(|e| e.message)?);
    }
    Ok(keys)
}

/// The shortest admin token accepted from configuration (a generated one has 43
/// characters): a short token can be guessed.
pub const MIN_ADMIN_TOKEN: usize = 16;

/// The admin token: configured, or generated once (and then printed once).
pub fn admin_token(configured: Option<&str>, data_dir: &Path) -> Result<String, String> {
    if let Some(token) = configured {
        if token.chars().count() < MIN_ADMIN_TOKEN || token.chars().any(char::is_whitespace) {
            return Err(format!(
                "--admin-token must have at least {MIN_ADMIN_TOKEN} characters and no spaces"
            ));
        }
        return Ok(token.to_owned());
    }
    let (token, created) = load_or_create(data_dir, "admin-token")?;
    if created {
        // Shown on a terminal only: a journal or a log file never holds it.
        use std::io::IsTerminal;
        let path = data_dir.join("admin-token");
        if std::io::stdout().is_terminal() {
            println!(
                "generated admin token (also in {}): {token}",
                path.display()
            );
        } else {
            tracing::info!(path = %path.display(), "generated an admin token; read it in its file");
        }
    }
    Ok(token)
}
