//! `checkout-server backup --to FILE` (CONTRACT §22): a consistent copy of a SQLite
//! database while a server serves it. SQLite's `VACUUM INTO` reads one snapshot of the
//! database through a read-only connection of its own (WAL readers never block the
//! writer, nor the writer them), so every order acknowledged before the backup began is
//! in the copy, whole. The copy is created `0600`; an existing non-empty file is never
//! overwritten. PostgreSQL has its own tools (`pg_dump`).

use std::path::Path;

/// The SQLite file a configuration serves: `<data-dir>/checkout.db`, or a `sqlite:` URL's.
pub fn source(config: &crate::config::Config) -> Result<std::path::PathBuf, String> {
    match config.database_url.as_deref() {
        None => Ok(config.data_dir.join("checkout.db")),
        Some(url) if url.starts_with("sqlite:") => Ok(crate::db::sqlite_file(url)?.0),
        Some(_) => Err("backup copies SQLite; back PostgreSQL up with pg_dump".into()),
    }
}

/// Copies the database `from` (a SQLite file) to `to`; what it says.
pub fn sqlite(from: &Path, to: &Path) -> Result<String, String> {
    if !from.exists() {
        return Err(format!("{}: no such database", from.display()));
    }
    // Created new, empty and private first (VACUUM INTO fills an empty file): never
    // over an existing file, nor through a symbolic link, even one pointing nowhere.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(to) {
        Ok(file) => drop(file),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(format!(
                "{} exists: a backup never overwrites a file",
                to.display()
            ))
        }
        Err(e) => return Err(format!("cannot write {}: {e}", to.display())),
    }
    crate::config::data_dir::narrow(to)?;
    let source = rusqlite::Connection::open_with_flags(
        from,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", from.display()))?;
    source
        .busy_timeout(std::time::Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    let target = to
        .to_str()
        .ok_or_else(|| format!("{}: not a UTF-8 path", to.display()))?;
    let copied = source.execute("VACUUM INTO ?1", [target]);
    if let Err(e) = copied {
        let _ = std::fs::remove_file(to);
        return Err(format!("backup of {} failed: {e}", from.display()));
    }
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "backed up {} to {} ({bytes} bytes)",
        from.display(),
        to.display()
    ))
}
