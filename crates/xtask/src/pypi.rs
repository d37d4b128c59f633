//! The Python tools from PyPI the tests use as outside implementations: schemathesis,
//! the official Standard Webhooks verifier and PyJWT. Each is pinned and installed when
//! another version (or none) is there.

use crate::tools::{output_of, run, Cmd};

/// The schemathesis release the API is tested with.
pub const SCHEMATHESIS: &str = "4.32.5";

/// The official Standard Webhooks library from PyPI that the end-to-end tests' Python
/// receiver verifies order events with (tests/webhooks/receiver.py; npm's twin is
/// pinned in tests/package.json).
pub const STANDARDWEBHOOKS: &str = "1.3.0";

/// The PyJWT release (with `cryptography`) that makes the identity tests' tokens
/// (tests/identity/tokens.py): an outside implementation of JOSE, never ours.
pub const PYJWT: &str = "2.15.1";

/// Installs `requirement` (`name[extras]==version`) unless `check`, a Python program,
/// prints `version`.
fn ensure(requirement: &str, check: &str, version: &str) -> Result<(), String> {
    let installed = output_of("python3", &["-c", check]).unwrap_or_default();
    if installed.trim() != version {
        run(Cmd::new("python3").args(["-m", "pip", "install", "--quiet", requirement]))?;
    }
    Ok(())
}

/// Installs schemathesis when it is missing or another version.
pub fn ensure_schemathesis() -> Result<(), String> {
    ensure(
        &format!("schemathesis=={SCHEMATHESIS}"),
        "import importlib.metadata as m; print(m.version('schemathesis'))",
        SCHEMATHESIS,
    )
}

/// Installs the pinned `standardwebhooks`.
pub fn ensure_standardwebhooks() -> Result<(), String> {
    ensure(
        &format!("standardwebhooks=={STANDARDWEBHOOKS}"),
        "import importlib.metadata as m; print(m.version('standardwebhooks'))",
        STANDARDWEBHOOKS,
    )
}

/// Installs the pinned `PyJWT[crypto]` (also when `cryptography` is missing).
pub fn ensure_pyjwt() -> Result<(), String> {
    ensure(
        &format!("PyJWT[crypto]=={PYJWT}"),
        "import importlib.metadata as m, cryptography; print(m.version('PyJWT'))",
        PYJWT,
    )
}
