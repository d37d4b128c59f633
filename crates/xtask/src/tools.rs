//! Running commands, and installing the tools the project needs when they are missing:
//! the wasm target, the wasm-bindgen CLI pinned to the crate's exact version, wasm-pack,
//! and Debian packages (Chromium, chromedriver, binaryen, PostgreSQL).

use std::{
    ffi::OsString,
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use crate::root;

/// A command line, run from the repository root.
#[derive(Debug)]
pub struct Cmd {
    program: String,
    args: Vec<OsString>,
    envs: Vec<(String, String)>,
    dir: Option<std::path::PathBuf>,
}

impl Cmd {
    pub fn new(program: &str) -> Self {
        Cmd {
            program: program.to_owned(),
            args: Vec::new(),
            envs: Vec::new(),
            dir: None,
        }
    }

    /// Runs from `dir` instead of the repository root.
    pub fn dir(mut self, dir: &str) -> Self {
        self.dir = Some(dir.into());
        self
    }

    pub fn args<'a>(mut self, args: impl IntoIterator<Item = &'a str>) -> Self {
        self.args.extend(args.into_iter().map(OsString::from));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_owned(), value.to_owned()));
        self
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args)
            .current_dir(self.dir.clone().unwrap_or_else(root));
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c
    }

    /// Starts the command in the background, its output discarded (a dev server).
    pub fn spawn_quiet(&self) -> Result<std::process::Child, String> {
        println!("$ {} &", self.describe());
        self.command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", self.program))
    }

    fn describe(&self) -> String {
        let mut s = self.program.clone();
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }
}

/// Runs a command with inherited output; fails on a non-zero exit.
pub fn run(cmd: Cmd) -> Result<(), String> {
    println!("$ {}", cmd.describe());
    let status = cmd
        .command()
        .status()
        .map_err(|e| format!("{}: {e}", cmd.program))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", cmd.describe()))
    }
}

/// Runs a command, streaming its standard output while keeping a copy; fails on a
/// non-zero exit.
pub fn run_captured(cmd: Cmd) -> Result<String, String> {
    println!("$ {}", cmd.describe());
    let mut child = cmd
        .command()
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", cmd.program))?;
    let mut captured = String::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            captured.push_str(&line);
            captured.push('\n');
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(captured)
    } else {
        Err(format!("`{}` failed ({status})", cmd.describe()))
    }
}

/// The standard output of a command, or `None` when it cannot run or fails.
pub fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The exact wasm-bindgen version pinned in the workspace manifest (`=0.2.x`).
pub fn pinned_wasm_bindgen() -> Result<String, String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).map_err(|e| e.to_string())?;
    manifest
        .lines()
        .find_map(|line| {
            let rest = line.trim().strip_prefix("wasm-bindgen = \"=")?;
            Some(rest.trim_end_matches('"').to_owned())
        })
        .ok_or_else(|| "Cargo.toml must pin wasm-bindgen = \"=x.y.z\"".to_owned())
}

/// The wasm target, the pinned wasm-bindgen CLI and wasm-pack.
pub fn ensure_wasm_toolchain() -> Result<(), String> {
    let targets = output_of("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !targets
        .lines()
        .any(|t| t.trim() == "wasm32-unknown-unknown")
    {
        run(Cmd::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let version = pinned_wasm_bindgen()?;
    let installed = output_of("wasm-bindgen", &["--version"]).unwrap_or_default();
    if !installed.split_whitespace().any(|w| w == version) {
        // Not --locked: the CLI's lock file names a yanked webpki-roots release that
        // crates.io no longer serves.
        run(Cmd::new("cargo").args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &version,
            "--force",
        ]))?;
    }
    if output_of("wasm-pack", &["--version"]).is_none() {
        run(Cmd::new("cargo").args(["install", "wasm-pack"]))?;
    }
    Ok(())
}

/// Installs cargo-fuzz (from crates.io) when it is missing.
pub fn ensure_cargo_fuzz() -> Result<(), String> {
    if output_of("cargo", &["fuzz", "--version"]).is_none() {
        run(Cmd::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

/// Installs Debian packages when any of `binaries` is missing from PATH.
pub fn ensure_apt(binaries: &[&str], packages: &[&str]) -> Result<(), String> {
    let missing = binaries
        .iter()
        .any(|b| output_of("sh", &["-c", &format!("command -v {b}")]).is_none());
    if !missing {
        return Ok(());
    }
    let sudo = output_of("id", &["-u"]).is_some_and(|id| id.trim() != "0");
    fn wrap<'a>(sudo: bool, args: &[&'a str]) -> Vec<&'a str> {
        let mut v: Vec<&str> = Vec::new();
        if sudo {
            v.push("sudo");
        }
        v.extend_from_slice(args);
        v
    }
    let update = wrap(sudo, &["apt-get", "update", "-q"]);
    run(Cmd::new(update[0]).args(update[1..].iter().copied()))?;
    let mut install = wrap(
        sudo,
        &["apt-get", "install", "-y", "-q", "--no-install-recommends"],
    );
    install.extend_from_slice(packages);
    run(Cmd::new(install[0])
        .args(install[1..].iter().copied())
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Debian's Chromium and chromedriver, for the wasm tests and the end-to-end tests.
pub fn ensure_chromium() -> Result<(), String> {
    ensure_apt(
        &["chromium", "chromedriver"],
        &["chromium", "chromium-driver"],
    )
}

/// The password the test command gives the local `postgres` role (loopback only).
const TEST_PG_PASSWORD: &str = "checkout-guard-test";

/// A PostgreSQL server for the tests: `CHECKOUT_TEST_POSTGRES_URL` when set; otherwise
/// Debian's `postgresql` package is installed when missing, its cluster started and the
/// `postgres` role given a password for TCP on 127.0.0.1. `None` (with the reason) when
/// that is not possible here.
pub fn ensure_postgres() -> Result<String, String> {
    if let Ok(url) = std::env::var("CHECKOUT_TEST_POSTGRES_URL") {
        if !url.is_empty() {
            return Ok(url);
        }
    }
    ensure_apt(&["pg_lsclusters", "pg_ctlcluster"], &["postgresql"])?;
    let clusters = output_of("pg_lsclusters", &["--no-header"]).unwrap_or_default();
    let first = clusters
        .lines()
        .next()
        .ok_or("no PostgreSQL cluster exists (pg_lsclusters is empty)")?;
    let fields: Vec<&str> = first.split_whitespace().collect();
    let (version, name, port, status) = match fields.as_slice() {
        [v, n, p, s, ..] => (*v, *n, *p, *s),
        _ => return Err(format!("cannot read pg_lsclusters: {first}")),
    };
    if status != "online" {
        run(Cmd::new("pg_ctlcluster").args([version, name, "start"]))?;
    }
    let root = output_of("id", &["-u"]).is_some_and(|id| id.trim() == "0");
    let sql = format!("ALTER USER postgres PASSWORD '{TEST_PG_PASSWORD}'");
    let quiet = |cmd: Cmd| {
        let mut c = cmd.command();
        c.stdout(Stdio::null());
        c.status().map_err(|e| e.to_string()).and_then(|s| {
            if s.success() {
                Ok(())
            } else {
                Err(format!("`{}` failed", cmd.describe()))
            }
        })
    };
    if root {
        // From "/": the postgres user may not enter the checkout's directory.
        quiet(
            Cmd::new("su")
                .args(["postgres", "-c", &format!("psql -qc \"{sql}\"")])
                .dir("/"),
        )?;
    } else {
        quiet(
            Cmd::new("sudo")
                .args(["-u", "postgres", "psql", "-qc", &sql])
                .dir("/"),
        )?;
    }
    Ok(format!(
        "postgres://postgres:{TEST_PG_PASSWORD}@127.0.0.1:{port}/postgres"
    ))
}

/// A `checkout-server` process started by xtask; killed when dropped (with the
/// simulated payment provider it talks to, when xtask started one for it).
#[derive(Debug)]
pub struct ServerProcess {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The provider process, stopped after the server.
    pub provider: Option<Box<ServerProcess>>,
}

impl ServerProcess {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary` with `args` (which must include `--bind 127.0.0.1:0`) and waits for
/// its "listening" line.
pub fn spawn_server(binary: &std::path::Path, args: &[&str]) -> Result<ServerProcess, String> {
    spawn_listening(binary, args, "checkout-server listening on ")
}

/// A fresh webhook secret shared by the provider and the server it is started for.
pub fn webhook_secret() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 24];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_err()
    {
        // No /dev/urandom: the time and the process id still differ per run.
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        bytes
            .iter_mut()
            .zip(seed.bytes().cycle())
            .for_each(|(b, s)| *b = s);
    }
    format!(
        "whsec_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Starts the simulated payment provider (`checkout-payment-sim`) on a free loopback
/// port with `secret` and `args`.
pub fn spawn_provider(
    binary: &std::path::Path,
    secret: &str,
    args: &[&str],
) -> Result<ServerProcess, String> {
    let mut all = vec!["--bind", "127.0.0.1:0", "--webhook-secret", secret];
    all.extend_from_slice(args);
    spawn_listening(binary, &all, "checkout-payment-sim listening on ")
}

/// Points the provider's webhooks at the server at `server_url`.
pub fn send_webhooks_to(provider_url: &str, server_url: &str) -> Result<(), String> {
    use std::io::{Read, Write};
    let authority = provider_url.trim_start_matches("http://");
    let body = format!("{{\"url\":\"{server_url}/api/v1/payments/webhook\"}}");
    let mut stream = std::net::TcpStream::connect(authority).map_err(|e| e.to_string())?;
    write!(
        stream,
        "PUT /v1/webhook_endpoint HTTP/1.1\r\nHost: {authority}\r\n\
         Authorization: Bearer sk_test_simulated\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    if answer.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!("the provider refused the webhook URL: {answer}"))
    }
}

fn spawn_listening(
    binary: &std::path::Path,
    args: &[&str],
    listening: &str,
) -> Result<ServerProcess, String> {
    let mut child = Command::new(binary)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .ok_or_else(|| format!("{} exited before listening", binary.display()))?
            .map_err(|e| e.to_string())?;
        // A plain line, or the same inside a JSON log line (`--log-format json`).
        if let Some(url) = line
            .split_once(listening)
            .map(|(_, url)| url.trim_end_matches("\"}"))
        {
            break url.trim().to_owned();
        }
    };
    // Keep draining so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(ServerProcess {
        child,
        url,
        provider: None,
    })
}

/// Node.js and npm for the end-to-end tests.
pub fn ensure_node() -> Result<(), String> {
    ensure_apt(&["node", "npm"], &["nodejs", "npm"])
}
