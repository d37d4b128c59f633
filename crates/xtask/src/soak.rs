//! `cargo xtask soak --minutes N [--postgres] [--connections C] [--idle-minutes M]
//! [--session-retention-secs S] [--rate R]`:
//! the release server under `checkout-load --mix` (browse, cart, checkout, leave it or
//! abandon it for the sweeper, place order, pay with the simulated provider, sign out
//! and in) for a bounded time, sampling the server every few seconds: resident memory (`VmRSS`,
//! `RssAnon`), peak (`VmHWM`), threads, open file descriptors, database size, and the
//! load's p99. Prints a Markdown table and writes an SVG plot of the samples
//! (`target/soak-<database>.svg`); then, with `--idle-minutes`, samples the idle server.

use std::{
    fmt::Write as _,
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use crate::probe::{database_bytes, fd_kinds, proc_status, started_checkouts};
use crate::{
    bench::{self, flag, ADMIN_TOKEN},
    root,
    tools::spawn_server,
};

fn number(args: &[String], name: &str, default: u64, max: u64) -> Result<u64, String> {
    let value = flag(args, name).map_or(Ok(default), |v| {
        v.parse::<u64>().map_err(|e| format!("{name}: {e}"))
    })?;
    if value == 0 || value > max {
        return Err(format!("{name} must be between 1 and {max}"));
    }
    Ok(value)
}

/// The number of member `name` in a flat JSON object line (`{"requests":12,…}`), as
/// `checkout-load --mix` prints them (xtask has no JSON parser of its own).
fn json_number(line: &str, name: &str) -> Option<f64> {
    let key = format!("\"{name}\":");
    let rest = &line[line.find(&key)? + key.len()..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

/// One sample of the server.
#[derive(Debug, Clone, Default)]
struct Sample {
    secs: u64,
    rss_kib: u64,
    anon_kib: u64,
    hwm_kib: u64,
    threads: u64,
    fds: u64,
    /// Of `fds`: connections the server accepted, connections it opened (to the
    /// provider, receivers), and the rest (database files, the listener, pipes, …).
    fds_in: u64,
    fds_out: u64,
    fds_other: u64,
    db_bytes: u64,
    /// Checkouts started since the server started (purged ones included).
    checkouts: u64,
    requests: u64,
    p99_ms: f64,
    errors: u64,
    idle: bool,
}

pub fn cmd_soak(args: &[String]) -> Result<(), String> {
    let postgres = args.iter().any(|a| a == "--postgres");
    let minutes = number(args, "--minutes", 2, 24 * 60)?;
    let idle_minutes = flag(args, "--idle-minutes").map_or(Ok(0), |v| {
        v.parse::<u64>().map_err(|e| format!("--idle-minutes: {e}"))
    })?;
    let connections = number(args, "--connections", 32, 1024)?;
    let per_connection = number(args, "--shoppers-per-connection", 10, 1000)?;
    let every = number(args, "--sample-secs", 5, 600)?;
    let rate = flag(args, "--rate")
        .map(|v| v.parse::<u64>().map_err(|e| format!("--rate: {e}")))
        .transpose()?;
    let bin = bench::build_release()?;
    let scratch = std::env::temp_dir().join(format!("checkout-soak-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let database_url = if postgres {
        Some(bench::create_postgres_database("soak")?)
    } else {
        None
    };
    let retention = number(args, "--session-retention-secs", 600, 7_776_000)?.max(60);
    let mut server_args =
        bench::server_args(&scratch.to_string_lossy(), database_url.as_deref(), None);
    // The soak's shoppers are replaced by new ones every few dozen orders (as a shop's
    // are), so they hold no more keys than the default cap allows: keep it.
    if let Some(i) = server_args
        .iter()
        .position(|a| a == "--idempotency-keys-per-shopper")
    {
        server_args.drain(i..i + 2);
    }
    // Time compressed: what ends without an order is purged after `retention` seconds
    // (90 days in production), so that the run reaches the steady state a shop's
    // database has, where old checkouts leave as fast as new ones come.
    server_args.extend(["--session-retention-secs".to_owned(), retention.to_string()]);
    // The paying quarter of the orders tokenizes with the simulated provider.
    let secret = crate::tools::webhook_secret();
    let provider = crate::tools::spawn_provider(&bin.join("checkout-payment-sim"), &secret, &[])?;
    server_args.extend([
        "--payment-provider-url".to_owned(),
        provider.url.clone(),
        "--payment-webhook-secret".to_owned(),
        secret,
    ]);
    let server_args: Vec<&str> = server_args.iter().map(String::as_str).collect();
    let mut server = spawn_server(&bin.join("checkout-server"), &server_args)?;
    crate::tools::send_webhooks_to(&provider.url, &server.url)?;
    server.provider = Some(Box::new(provider));
    let pid = server.pid();
    let result = soak(
        &bin,
        &server.url,
        pid,
        &scratch,
        database_url.as_deref(),
        SoakPlan {
            minutes,
            idle_minutes,
            connections,
            per_connection,
            every,
            rate,
            label: if postgres { "postgres" } else { "sqlite" },
        },
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&scratch);
    if let Some(url) = &database_url {
        bench::drop_postgres_database(url);
    }
    result
}

struct SoakPlan {
    minutes: u64,
    idle_minutes: u64,
    connections: u64,
    per_connection: u64,
    every: u64,
    /// Requests per second in all (paced), or as many as the server takes.
    rate: Option<u64>,
    label: &'static str,
}

fn soak(
    bin: &Path,
    url: &str,
    pid: u32,
    data_dir: &Path,
    database_url: Option<&str>,
    plan: SoakPlan,
) -> Result<(), String> {
    let seconds = plan.minutes * 60;
    let rate = plan.rate.map(|r| r.to_string());
    let mut load = Command::new(bin.join("checkout-load"))
        .args(rate.iter().flat_map(|r| ["--rate", r.as_str()]))
        .args([
            "--mix",
            "--target",
            url,
            "--connections",
            &plan.connections.to_string(),
            "--shoppers-per-connection",
            &plan.per_connection.to_string(),
            "--seconds",
            &seconds.to_string(),
            "--report-every",
            &plan.every.to_string(),
            "--admin-token",
            ADMIN_TOKEN,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("checkout-load: {e}"))?;
    let stdout = load.stdout.take().ok_or("no stdout")?;
    let (reports, received) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with('{') && reports.send(line).is_err() {
                break;
            }
        }
    });
    println!(
        "soak ({}): {} connections × {} shoppers for {} min, a sample every {} s",
        plan.label, plan.connections, plan.per_connection, plan.minutes, plan.every
    );
    println!("| min | VmRSS MiB | RssAnon MiB | VmHWM MiB | threads | fds (in/out/other) | db MiB | checkouts started | db bytes/checkout | req/s | p99 ms | non-2xx |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let started = Instant::now();
    let mut samples = Vec::new();
    // Load phase: one sample per report line of the load (they come every `every` s).
    loop {
        match received.recv_timeout(Duration::from_secs(plan.every * 3 + 30)) {
            Ok(report) => {
                let sample = take_sample(
                    pid,
                    url,
                    data_dir,
                    database_url,
                    started,
                    Some(report.as_str()),
                );
                print_sample(&sample, plan.every);
                samples.push(sample);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = load.kill();
                return Err("the load generator stopped reporting".into());
            }
        }
    }
    let status = load.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("checkout-load failed: {status}"));
    }
    // Idle phase.
    let idle_until = Instant::now() + Duration::from_secs(plan.idle_minutes * 60);
    while Instant::now() < idle_until {
        std::thread::sleep(Duration::from_secs(plan.every));
        let mut sample = take_sample(pid, url, data_dir, database_url, started, None);
        sample.idle = true;
        print_sample(&sample, plan.every);
        samples.push(sample);
    }
    print_windows(&samples, plan.every);
    let svg = root().join(format!("target/soak-{}.svg", plan.label));
    std::fs::write(&svg, plot(&samples, plan.label)).map_err(|e| e.to_string())?;
    println!("plot: {}", svg.display());
    Ok(())
}

fn take_sample(
    pid: u32,
    url: &str,
    data_dir: &Path,
    database_url: Option<&str>,
    started: Instant,
    report: Option<&str>,
) -> Sample {
    let (rss_kib, anon_kib, hwm_kib, threads) = proc_status(pid).unwrap_or_default();
    let server_port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let (fds_in, fds_out, fds_other) = fd_kinds(pid, server_port);
    let get = |name: &str| report.and_then(|r| json_number(r, name)).unwrap_or(0.0);
    Sample {
        secs: started.elapsed().as_secs(),
        rss_kib,
        anon_kib,
        hwm_kib,
        threads,
        fds: fds_in + fds_out + fds_other,
        fds_in,
        fds_out,
        fds_other,
        db_bytes: database_bytes(data_dir, database_url),
        checkouts: started_checkouts(url),
        requests: get("requests") as u64,
        p99_ms: get("p99_ms"),
        errors: get("errors") as u64,
        idle: false,
    }
}

fn print_sample(s: &Sample, every: u64) {
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "| {:.1}{} | {:.0} | {:.0} | {:.0} | {} | {} ({}/{}/{}) | {:.1} | {} | {:.0} | {:.0} | {:.1} | {} |",
        s.secs as f64 / 60.0,
        if s.idle { " idle" } else { "" },
        mib(s.rss_kib),
        mib(s.anon_kib),
        mib(s.hwm_kib),
        s.threads,
        s.fds,
        s.fds_in,
        s.fds_out,
        s.fds_other,
        s.db_bytes as f64 / 1_048_576.0,
        s.checkouts,
        s.db_bytes as f64 / s.checkouts.max(1) as f64,
        s.requests as f64 / every as f64,
        s.p99_ms,
        s.errors
    );
}

/// The load phase by five-minute window: requests per second, the mean and the worst of
/// the load's p99 per report, the most file descriptors, and the database at the end.
fn print_windows(samples: &[Sample], every: u64) {
    const WINDOW: u64 = 300;
    let load: Vec<&Sample> = samples.iter().filter(|s| !s.idle).collect();
    let Some(last) = load.last() else { return };
    println!("\n| window (min) | req/s | p99 ms (mean) | p99 ms (worst) | fds (most) | db MiB | checkouts started | db bytes/checkout |");
    println!("|---|---|---|---|---|---|---|---|");
    for start in (0..=last.secs.saturating_sub(1) / WINDOW).map(|w| w * WINDOW) {
        let window: Vec<&&Sample> = load
            .iter()
            .filter(|s| s.secs > start && s.secs <= start + WINDOW)
            .collect();
        let (Some(end), n) = (window.last(), window.len() as f64) else {
            continue;
        };
        let requests: u64 = window.iter().map(|s| s.requests).sum();
        let p99s = window.iter().map(|s| s.p99_ms);
        println!(
            "| {}–{} | {:.0} | {:.1} | {:.1} | {} | {:.0} | {} | {:.0} |",
            start / 60,
            (start + WINDOW) / 60,
            requests as f64 / (n * every as f64),
            p99s.clone().sum::<f64>() / n,
            p99s.fold(0.0, f64::max),
            window.iter().map(|s| s.fds).max().unwrap_or(0),
            end.db_bytes as f64 / 1_048_576.0,
            end.checkouts,
            end.db_bytes as f64 / end.checkouts.max(1) as f64,
        );
    }
}

/// An SVG of `VmRSS` and `RssAnon` (MiB, left axis) and the load's p99 (ms, right axis)
/// over the run's minutes.
fn plot(samples: &[Sample], label: &str) -> String {
    let (w, h, left, right, top, bottom) = (720.0, 320.0, 60.0, 60.0, 30.0, 40.0);
    let end = samples.last().map_or(1, |s| s.secs.max(1)) as f64;
    let mem_max = samples
        .iter()
        .map(|s| s.rss_kib as f64 / 1024.0)
        .fold(10.0, f64::max)
        * 1.1;
    let p99_max = samples.iter().map(|s| s.p99_ms).fold(1.0, f64::max) * 1.1;
    let top_of =
        |f: &dyn Fn(&Sample) -> Option<f64>| samples.iter().filter_map(f).fold(1.0, f64::max) * 1.1;
    let bytes_per_checkout =
        |s: &Sample| (s.checkouts > 0).then(|| s.db_bytes as f64 / s.checkouts as f64);
    let fds_max = top_of(&|s| Some(s.fds as f64));
    let db_max = top_of(&|s| Some(s.db_bytes as f64 / 1_048_576.0));
    let bpc_max = top_of(&bytes_per_checkout);
    let x = |secs: u64| left + (secs as f64 / end) * (w - left - right);
    let y = |v: f64, max: f64| top + (1.0 - v / max) * (h - top - bottom);
    let line = |f: &dyn Fn(&Sample) -> Option<f64>, max: f64| {
        samples
            .iter()
            .filter_map(|s| f(s).map(|v| format!("{:.1},{:.1}", x(s.secs), y(v, max))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h2}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="18">soak ({label}): VmRSS (blue), RssAnon (green) in MiB, left; p99 ms (red), right; minutes along</text>
<line x1="{left}" y1="{yb}" x2="{xr}" y2="{yb}" stroke="black"/>
<line x1="{left}" y1="{top}" x2="{left}" y2="{yb}" stroke="black"/>
<line x1="{xr}" y1="{top}" x2="{xr}" y2="{yb}" stroke="black"/>
<text x="4" y="{top}">{mem_max:.0}</text><text x="4" y="{yb}">0</text>
<text x="{xr2}" y="{top}">{p99_max:.0}</text><text x="{xr2}" y="{yb}">0</text>
<text x="{left}" y="{yl}">0</text><text x="{xe}" y="{yl}">{end_min:.1}</text>
<polyline fill="none" stroke="blue" stroke-width="1.5" points="{rss}"/>
<polyline fill="none" stroke="green" stroke-width="1.5" points="{anon}"/>
<polyline fill="none" stroke="red" stroke-width="1" points="{p99}"/>
<g transform="translate(0 {h})">
<text x="{left}" y="18">each to its own top: fds (orange, {fds_max:.0}), db size (purple, {db_max:.0} MiB), database bytes per checkout started (black, {bpc_max:.0})</text>
<line x1="{left}" y1="{yb}" x2="{xr}" y2="{yb}" stroke="black"/>
<line x1="{left}" y1="{top}" x2="{left}" y2="{yb}" stroke="black"/>
<text x="{left}" y="{yl}">0</text><text x="{xe}" y="{yl}">{end_min:.1}</text>
<polyline fill="none" stroke="orange" stroke-width="1.5" points="{fds}"/>
<polyline fill="none" stroke="purple" stroke-width="1.5" points="{db}"/>
<polyline fill="none" stroke="black" stroke-width="1" points="{bpc}"/>
</g>
</svg>
"##,
        yb = h - bottom,
        xr = w - right,
        xr2 = w - right + 4.0,
        yl = h - bottom + 16.0,
        xe = w - right - 20.0,
        end_min = end / 60.0,
        rss = line(&|s| Some(s.rss_kib as f64 / 1024.0), mem_max),
        anon = line(&|s| Some(s.anon_kib as f64 / 1024.0), mem_max),
        p99 = line(&|s| (!s.idle).then_some(s.p99_ms), p99_max),
        h2 = 2.0 * h,
        fds = line(&|s| Some(s.fds as f64), fds_max),
        db = line(&|s| Some(s.db_bytes as f64 / 1_048_576.0), db_max),
        bpc = line(&bytes_per_checkout, bpc_max),
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_numbers_are_read_by_name() {
        let line = r#"{"errors":0,"orders":17,"p50_ms":1.25,"p99_ms":8.5,"requests":1200,"t":35}"#;
        assert_eq!(json_number(line, "requests"), Some(1200.0));
        assert_eq!(json_number(line, "p99_ms"), Some(8.5));
        assert_eq!(json_number(line, "t"), Some(35.0));
        assert_eq!(json_number(line, "missing"), None);
    }
}
