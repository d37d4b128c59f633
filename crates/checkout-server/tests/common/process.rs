//! `checkout-server` as its own process (restarts, `kill -9`, several instances, an
//! earlier release), and what the kernel says about a process.

use super::*;

/// A cheap password hash, and limits high enough for tests that sign many shoppers up
/// from one address, for each flag that `args` does not set itself.
fn generous_limits(args: &[&str]) -> Vec<&'static str> {
    [
        ["--bind", "127.0.0.1:0"],
        ["--argon2-memory-kib", "1024"],
        ["--hash-wait-ms", "60000"],
        ["--signups-per-address-per-hour", "1000000"],
        ["--initiations-per-shopper-per-minute", "1000000"],
        ["--login-failures-per-address", "1000000"],
        ["--idempotency-keys-per-shopper", "1000000"],
        ["--changes-per-shopper-per-minute", "1000000"],
        ["--card-attempts-per-shopper-per-hour", "1000000"],
        ["--card-attempts-per-address-per-hour", "1000000"],
    ]
    .into_iter()
    .filter(|[flag, _]| !args.contains(flag))
    .flatten()
    .collect()
}

/// A `checkout-server` process (for restarts, `kill -9` and several instances), with
/// its own simulated provider unless `args` name one.
pub struct Process {
    pub child: std::process::Child,
    pub base: String,
    pub provider: Option<Provider>,
    /// Its standard output and error, the last 50,000 lines.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

fn keep(log: &std::sync::Mutex<Vec<String>>, line: String) {
    let mut log = log.lock().unwrap();
    if log.len() >= 50_000 {
        log.remove(0);
    }
    log.push(line);
}

impl Process {
    /// Starts the binary with `args` on a free loopback port and waits until it listens.
    pub fn spawn(data_dir: &std::path::Path, args: &[&str]) -> Process {
        Self::spawn_logging(data_dir, args, "warn")
    }

    /// [`Self::spawn`] with `RUST_LOG=rust_log`; its log lines are kept in `log`.
    pub fn spawn_logging(data_dir: &std::path::Path, args: &[&str], rust_log: &str) -> Process {
        let binary = std::path::Path::new(env!("CARGO_BIN_EXE_checkout-server"));
        Self::spawn_binary(binary, data_dir, args, rust_log)
    }

    /// [`Self::spawn_logging`] with another build of the server (an earlier release).
    pub fn spawn_binary(
        binary: &std::path::Path,
        data_dir: &std::path::Path,
        args: &[&str],
        rust_log: &str,
    ) -> Process {
        use std::io::{BufRead, BufReader};
        // An earlier release does not know the flags added since.
        let ours = binary == std::path::Path::new(env!("CARGO_BIN_EXE_checkout-server"));
        let limits: Vec<&str> = generous_limits(args)
            .chunks(2)
            .filter(|pair| ours || pair[0] != "--card-attempts-per-address-per-hour")
            .flatten()
            .copied()
            .collect();
        let provider = (!args.contains(&"--payment-provider-url")).then(|| Provider::spawn(&[]));
        let provider_url: Vec<String> = provider
            .iter()
            .flat_map(|p| ["--payment-provider-url".to_owned(), p.base.clone()])
            .collect();
        let mut child = std::process::Command::new(binary)
            .args(["--admin-token", ADMIN, "--test-clock"])
            .args(["--payment-webhook-secret", TEST_WEBHOOK_SECRET])
            // The tests' order-event receivers listen on 127.0.0.1.
            .arg("--outbox-allow-private")
            .args(provider_url)
            .arg("--data-dir")
            .arg(data_dir)
            .args(limits)
            .args(args)
            .env("RUST_LOG", rust_log)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn checkout-server");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let kept = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                keep(&kept, line);
            }
        });
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            // A plain line, or the same inside a JSON log line.
            if let Some((_, url)) = line.split_once("checkout-server listening on ") {
                break url.trim().trim_end_matches("\"}").to_owned();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        let kept = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                keep(&kept, line);
            }
        });
        if let Some(provider) = &provider {
            provider.point_webhooks_at(&base);
        }
        Process {
            child,
            base,
            provider,
            log,
        }
    }

    /// `kill -9`.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }

    /// A shopper talking to this process (cookies are per host, so one shopper can
    /// move between instances on 127.0.0.1).
    pub fn shopper(&self, client: &Client, name: &str) -> Shopper {
        Shopper {
            client: client.clone(),
            base: self.base.clone(),
            name: name.to_owned(),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `/proc/<pid>/status` field in KiB (`VmHWM`, `RssAnon`, …).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let prefix = format!("{field}:");
    status
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Server processes sharing one fresh PostgreSQL database and one token secret.
pub struct Cluster {
    pub processes: Vec<Process>,
    pub dir: tempfile::TempDir,
    pub url: String,
}

impl Cluster {
    /// `count` processes, each started with `args` too; `None` (saying so) when no
    /// PostgreSQL is configured.
    pub async fn start(count: usize, args: &[&str]) -> Option<Cluster> {
        if postgres_admin_url().is_none() {
            println!("SKIPPED (no CHECKOUT_TEST_POSTGRES_URL): several instances need PostgreSQL");
            return None;
        }
        let url = fresh_postgres_database().await;
        let dir = tempfile::tempdir().unwrap();
        let secret = "one shared secret for every instance, 32+ bytes";
        let mut all = vec!["--database-url", url.as_str(), "--token-secret", secret];
        all.extend_from_slice(args);
        let processes = (0..count)
            .map(|i| Process::spawn(&dir.path().join(format!("instance-{i}")), &all))
            .collect();
        Some(Cluster {
            processes,
            dir,
            url,
        })
    }

    /// Each process's address.
    pub fn bases(&self) -> Vec<String> {
        self.processes.iter().map(|p| p.base.clone()).collect()
    }

    /// Stops the processes and drops the database.
    pub async fn stop(self) {
        drop(self.processes);
        drop_postgres_database(&self.url).await;
    }
}
