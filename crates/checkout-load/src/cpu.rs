//! Where the CPU of a phase went: the CPU time of every process on this machine, read
//! from `/proc/<pid>/stat` at the start and end of the phase and grouped by program
//! (the server, PostgreSQL's backends, this generator, everything else). On a machine
//! where the three share the cores, this says which one a faster phase must relieve.

use std::{collections::BTreeMap, fs};

/// CPU seconds used so far, by program name.
#[derive(Debug, Clone, Default)]
pub struct Usage(BTreeMap<String, f64>);

/// The clock ticks per second of `/proc`'s times (`getconf CLK_TCK`; 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

impl Usage {
    /// Now, for every process readable; nothing on a system without `/proc`.
    pub fn now() -> Usage {
        let mut by_program = BTreeMap::new();
        let Ok(entries) = fs::read_dir("/proc") else {
            return Usage(by_program);
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            if let Some((program, seconds)) = parse_stat(&stat) {
                *by_program.entry(group(&program).to_owned()).or_insert(0.0) += seconds;
            }
        }
        Usage(by_program)
    }

    /// What was used between `earlier` and `self`, by program, largest first.
    pub fn since(&self, earlier: &Usage) -> Vec<(String, f64)> {
        let mut used: Vec<(String, f64)> = self
            .0
            .iter()
            .map(|(program, seconds)| {
                let before = earlier.0.get(program).copied().unwrap_or(0.0);
                (program.clone(), (seconds - before).max(0.0))
            })
            .filter(|(_, seconds)| *seconds > 0.0)
            .collect();
        used.sort_by(|a, b| b.1.total_cmp(&a.1));
        used
    }
}

/// The program name (between the parentheses) and its user plus system CPU seconds.
fn parse_stat(stat: &str) -> Option<(String, f64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let program = stat.get(open + 1..close)?.to_owned();
    // After the name: state (3rd field), …, utime (14th) and stime (15th).
    let fields: Vec<&str> = stat.get(close + 2..)?.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((program, (utime + stime) / TICKS_PER_SECOND))
}

/// The four groups a report shows.
fn group(program: &str) -> &str {
    match program {
        "checkout-server" => "server",
        "postgres" => "postgres",
        "checkout-load" => "load generator",
        _ => "other",
    }
}

/// One line: each group's CPU per request in microseconds and its share of the phase's
/// wall time in cores.
pub fn line(used: &[(String, f64)], requests: u64, wall_seconds: f64) -> String {
    let parts: Vec<String> = used
        .iter()
        .map(|(program, seconds)| {
            format!(
                "{program} {:.0} µs/request ({:.2} cores)",
                seconds * 1e6 / requests.max(1) as f64,
                seconds / wall_seconds.max(1e-9)
            )
        })
        .collect();
    format!("cpu: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_the_program_and_its_seconds() {
        let stat =
            "4242 (checkout-server) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 9 0 1 2 3";
        assert_eq!(parse_stat(stat), Some(("checkout-server".to_owned(), 3.0)));
        let odd = "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 10 20 0 0";
        assert_eq!(parse_stat(odd), Some(("a (b) c".to_owned(), 0.3)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn usage_since_subtracts_per_group() {
        let before = Usage(BTreeMap::from([("server".to_owned(), 1.0)]));
        let after = Usage(BTreeMap::from([
            ("server".to_owned(), 3.5),
            ("postgres".to_owned(), 1.0),
        ]));
        assert_eq!(
            after.since(&before),
            [("server".to_owned(), 2.5), ("postgres".to_owned(), 1.0)]
        );
    }
}
