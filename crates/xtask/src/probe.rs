//! What `cargo xtask soak` samples of the running server: its memory and threads
//! (`/proc/<pid>/status`), its file descriptors by kind, the database's size and how
//! many checkouts it started (from its `/metrics`).

use std::{path::Path, process::Command, time::Duration};

use crate::bench::ADMIN_TOKEN;

/// `VmRSS`, `RssAnon`, `VmHWM` (KiB) and `Threads` of a process.
pub fn proc_status(pid: u32) -> Option<(u64, u64, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Some((
        field("VmRSS:"),
        field("RssAnon:"),
        field("VmHWM:"),
        field("Threads:"),
    ))
}

/// The process's descriptors by kind: (accepted connections, connections it opened,
/// the rest), telling sockets apart by their inode in `/proc/<pid>/net/tcp{,6}` and an
/// accepted one by its local port, the server's.
pub fn fd_kinds(pid: u32, server_port: u16) -> (u64, u64, u64) {
    let mut local_port = std::collections::HashMap::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let port = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            // 0A: listening; counted with the rest.
            if let (Some(port), false) = (port, *state == "0A") {
                local_port.insert((*inode).to_owned(), port);
            }
        }
    }
    let (mut accepted, mut opened, mut other) = (0, 0, 0);
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        let target = target.to_string_lossy();
        let inode = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'));
        match inode.and_then(|i| local_port.get(i)) {
            Some(&port) if port == server_port => accepted += 1,
            Some(_) => opened += 1,
            None => other += 1,
        }
    }
    (accepted, opened, other)
}

/// The database's size: the SQLite file with its WAL, or PostgreSQL's
/// `pg_database_size`.
pub fn database_bytes(data_dir: &Path, postgres_url: Option<&str>) -> u64 {
    match postgres_url {
        Some(url) => Command::new("psql")
            .args([url, "-tAc", "SELECT pg_database_size(current_database())"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(0),
        None => ["checkout.db", "checkout.db-wal", "checkout.db-shm"]
            .iter()
            .filter_map(|f| std::fs::metadata(data_dir.join(f)).ok())
            .map(|m| m.len())
            .sum(),
    }
}

/// How many checkouts the server started so far (`checkout_initiations_total` on its
/// `/metrics`). Read from the server, not the database: a `sqlite3` process opening the
/// live file beside it unlinked the server's write-ahead log
/// (measured in this soak: the server kept writing to the unlinked WAL).
pub fn started_checkouts(url: &str) -> u64 {
    use std::io::{Read, Write};
    let authority = url.trim_start_matches("http://");
    let Ok(mut stream) = std::net::TcpStream::connect(authority) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nConnection: close\r\n\r\n"
    );
    let mut page = String::new();
    if stream.write_all(request.as_bytes()).is_err() || stream.read_to_string(&mut page).is_err() {
        return 0;
    }
    page.lines()
        .find_map(|l| l.strip_prefix("checkout_initiations_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_are_told_apart_by_who_opened_the_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let pid = std::process::id();
        let (accepted, opened, _) = fd_kinds(pid, port);
        let clients: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        let servers: Vec<_> = (0..3).map(|_| listener.accept().unwrap().0).collect();
        let (accepted_now, opened_now, _) = fd_kinds(pid, port);
        // Other tests of this process may hold connections of their own meanwhile.
        assert!(accepted_now >= accepted + 3, "{accepted} → {accepted_now}");
        assert!(opened_now >= opened + 3, "{opened} → {opened_now}");
        drop((clients, servers));
    }
}
