//! The data directory (CONTRACT §22): it holds the SQLite database and the generated
//! secrets (the outbox's signing secrets are in the database), so it is created `0700`
//! and its files `0600` whatever the umask, and one server at a time serves it (an
//! exclusive lock on `<dir>/lock`, which the kernel releases when the server stops or
//! dies, so a `kill -9` never leaves it locked).

use std::{
    fs,
    path::{Path, PathBuf},
};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// Creates `dir` (and its parents) if needed, readable by the server's user only; an
/// existing one is narrowed to that too.
pub fn prepare(dir: &Path) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot create {}: {e}", dir.display());
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir).map_err(fail)?;
    #[cfg(unix)]
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(fail)?;
    Ok(())
}

/// Opens `path` for writing (created if absent) with mode `0600`, narrowing an
/// existing file to it.
pub fn private_file(path: &Path, truncate: bool) -> Result<fs::File, String> {
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    options.mode(0o600);
    let file = options.open(path).map_err(fail)?;
    #[cfg(unix)]
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(fail)?;
    Ok(file)
}

/// Narrows an existing file of the data directory (a secret written by an earlier
/// release, or loosened by hand) to `0600`.
pub fn narrow(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot narrow {} to 0600: {e}", path.display()))?;
    Ok(())
}

/// The lock of a data directory, held while the server runs (dropping it releases it).
#[derive(Debug)]
pub struct DirLock {
    _file: fs::File,
    path: PathBuf,
}

impl DirLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes the data directory's exclusive lock, or says which directory another server
/// holds.
pub fn lock(dir: &Path) -> Result<DirLock, String> {
    prepare(dir)?;
    let path = dir.join("lock");
    let mut file = private_file(&path, false)?;
    match file.try_lock() {
        Ok(()) => {
            // Who holds it, for the message a second server prints.
            use std::io::Write;
            let _ = file.set_len(0);
            let _ = write!(file, "{}", std::process::id());
            Ok(DirLock { _file: file, path })
        }
        Err(fs::TryLockError::WouldBlock) => {
            let holder = fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            let pid = if !holder.is_empty() && holder.bytes().all(|b| b.is_ascii_digit()) {
                format!(", process {holder}")
            } else {
                String::new()
            };
            Err(format!(
                "another checkout-server is already serving the data directory {} (it holds \
                 {}{pid}): stop it first, or give this one its own --data-dir",
                dir.display(),
                path.display()
            ))
        }
        Err(fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_private_and_served_by_one_server() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        let first = lock(&dir).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(first.path()), 0o600);
        let refused = lock(&dir).unwrap_err();
        assert!(refused.contains("already serving"), "{refused}");
        drop(first);
        assert!(lock(&dir).is_ok(), "released when the first one ends");
        // An existing looser file is narrowed.
        let loose = dir.join("loose");
        fs::write(&loose, "x").unwrap();
        fs::set_permissions(&loose, fs::Permissions::from_mode(0o644)).unwrap();
        private_file(&loose, false).unwrap();
        assert_eq!(mode(&loose), 0o600);
    }
}
