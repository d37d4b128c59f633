//! The config file (CONTRACT §22): TOML, one key per setting, named as its flag
//! (`bind`, `database_url` or `database-url`, `trusted_origin = ["https://shop.example"]`,
//! `secure_cookies = true`). It lies under the environment and the flags: a setting comes
//! from its flag, else its `CHECKOUT_…` variable, else the file, else its default. The
//! file's settings become flags in front of the command line's, each one only when
//! neither a flag nor its variable gives it, so clap checks every value as it checks a
//! flag's. An unknown key or a value of the wrong kind stops the start.

use std::{ffi::OsString, path::Path};

use clap::{ArgAction, CommandFactory, Parser};

use crate::config::Config;

/// The command line with the config file's settings (from `--config FILE` or
/// `CHECKOUT_CONFIG`) put in front of it.
pub fn argv(args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let Some(path) = config_path(&args).or_else(|| std::env::var_os("CHECKOUT_CONFIG")) else {
        return Ok(args);
    };
    let given = |long: &str| {
        args.iter().skip(1).any(|a| {
            let a = a.to_string_lossy();
            a == format!("--{long}") || a.starts_with(&format!("--{long}="))
        })
    };
    let from_file = flags(Path::new(&path), |long, env| {
        given(long) || env.is_some_and(|e| std::env::var_os(e).is_some())
    })?;
    let mut out = Vec::with_capacity(args.len() + from_file.len());
    out.extend(args.first().cloned());
    out.extend(from_file);
    out.extend(args.into_iter().skip(1));
    Ok(out)
}

/// `--config FILE` or `--config=FILE` on the command line.
fn config_path(args: &[OsString]) -> Option<OsString> {
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        let text = arg.to_string_lossy();
        if text == "--config" {
            return rest.next().cloned();
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(path.into());
        }
    }
    None
}

/// The file's settings as flags, but those `skip(long name, variable)` says are given
/// elsewhere; every problem of the file at once.
fn flags(path: &Path, skip: impl Fn(&str, Option<&str>) -> bool) -> Result<Vec<OsString>, String> {
    let (out, problems) = settings(path, skip)?;
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(format!(
            "config file {}: {}",
            path.display(),
            problems.join("; ")
        ))
    }
}

/// The file's settings as flags, and the keys it cannot take (unknown, or of the wrong
/// kind); an error only for a file that cannot be read as TOML.
fn settings(
    path: &Path,
    skip: impl Fn(&str, Option<&str>) -> bool,
) -> Result<(Vec<OsString>, Vec<String>), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("config file {}: {e}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("config file {}: {e}", path.display()))?;
    let command = Config::command();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let Some(arg) = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && !a.is_hide_set() && long != "config")
        else {
            problems.push(format!("`{key}` is no setting"));
            continue;
        };
        let env = arg.get_env().and_then(|e| e.to_str());
        if skip(&long, env) {
            continue;
        }
        let flag = matches!(arg.get_action(), ArgAction::SetTrue);
        let scalar = |v: &toml::Value| match v {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(i) => Some(i.to_string()),
            _ => None,
        };
        match value {
            toml::Value::Boolean(on) if flag => {
                if *on {
                    out.push(format!("--{long}").into());
                }
            }
            _ if flag => problems.push(format!("`{key}` is true or false")),
            toml::Value::Array(items) if arg.get_value_delimiter().is_some() => {
                match items.iter().map(scalar).collect::<Option<Vec<_>>>() {
                    Some(values) => out.push(format!("--{long}={}", values.join(",")).into()),
                    None => problems.push(format!("`{key}` lists strings or numbers")),
                }
            }
            other => match scalar(other) {
                Some(v) => out.push(format!("--{long}={v}").into()),
                None => problems.push(format!("`{key}` is a string or a number")),
            },
        }
    }
    Ok((out, problems))
}

/// `checkout-server config check FILE`: whether the file alone (without the
/// environment's or the command line's settings) makes a configuration the server
/// accepts; what it says.
pub fn check(path: &Path) -> Result<String, String> {
    let (from_file, mut problems) = settings(path, |_, _| false)?;
    let count = from_file.len();
    let parse = |args: &[OsString]| {
        Config::try_parse_from(
            std::iter::once(OsString::from("checkout-server")).chain(args.iter().cloned()),
        )
    };
    match parse(&from_file) {
        Ok(config) => {
            problems.extend(
                config
                    .check()
                    .err()
                    .into_iter()
                    .flat_map(|p| p.lines().map(str::to_owned).collect::<Vec<_>>()),
            );
            // What only a file for a real server must name: pages that exist.
            if !config.static_dir.is_dir() {
                problems.push(format!(
                    "--static-dir: {} is no directory",
                    config.static_dir.display()
                ));
            }
        }
        // Each setting on its own, so that every bad value is named at once.
        Err(_) => problems.extend(
            from_file
                .iter()
                .filter_map(|arg| parse(std::slice::from_ref(arg)).err())
                .map(|e| {
                    let text = e.render().to_string();
                    let first = text.lines().next().unwrap_or_default();
                    first.trim_start_matches("error: ").to_owned()
                }),
        ),
    }
    if problems.is_empty() {
        Ok(format!(
            "config file {}: {count} settings, valid",
            path.display()
        ))
    } else {
        Err(format!(
            "config file {}:\n{}",
            path.display(),
            problems.join("\n")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    fn parse(args: &[&str]) -> Result<Config, String> {
        let args = argv(args.iter().map(OsString::from).collect())?;
        Config::try_parse_from(args).map_err(|e| e.to_string())
    }

    #[test]
    fn the_file_lies_under_the_environment_and_the_flags() {
        let f = file(
            "bind = \"127.0.0.1:9999\"\nsweep-every-ms = 700\nsecure_cookies = true\n\
             trusted_origin = [\"https://a.example\", \"https://b.example\"]\n\
             outbox_poll_ms = 250\nadmin_token = \"from-the-file-0123456789\"\n",
        );
        let path = f.path().to_str().unwrap();
        let config = parse(&["checkout-server", "--config", path]).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:9999");
        assert_eq!(config.sweep_every_ms, 700);
        assert!(config.secure_cookies);
        assert_eq!(
            config.trusted_origins,
            ["https://a.example", "https://b.example"]
        );
        // A flag wins over the file.
        let config = parse(&[
            "checkout-server",
            "--sweep-every-ms",
            "900",
            &format!("--config={path}"),
        ])
        .unwrap();
        assert_eq!(config.sweep_every_ms, 900);
        // The environment wins over the file (this variable is read by no other test).
        std::env::set_var("CHECKOUT_OUTBOX_POLL_MS", "333");
        let config = parse(&["checkout-server", "--config", path]).unwrap();
        std::env::remove_var("CHECKOUT_OUTBOX_POLL_MS");
        assert_eq!(config.outbox_poll_ms, 333);
        assert_eq!(
            config.admin_token.as_deref(),
            Some("from-the-file-0123456789")
        );
    }

    #[test]
    fn unknown_keys_and_wrong_kinds_are_refused_all_at_once() {
        let f = file(
            "bnid = \"x\"\nsecure_cookies = \"yes\"\nsweep_every_ms = [1]\nprint_openapi = true\n",
        );
        let why = parse(&["checkout-server", "--config", f.path().to_str().unwrap()]).unwrap_err();
        for part in [
            "`bnid` is no setting",
            "`secure_cookies` is true or false",
            "`sweep_every_ms` is a string",
            "`print_openapi` is no setting",
        ] {
            assert!(why.contains(part), "{why}");
        }
        // clap checks the values as it checks flags.
        let f = file("sweep_every_ms = \"soon\"\n");
        assert!(check(f.path()).is_err());
        let f = file("timeout = 3\n");
        assert!(check(f.path())
            .unwrap_err()
            .contains("`timeout` is no setting"));
        let f = file("payment_webhook_secret = [\"short\"]\n");
        assert!(check(f.path()).unwrap_err().contains("at least 16"));
        let www = concat!(env!("CARGO_MANIFEST_DIR"), "/../../www");
        let f = file(&format!("bind = \"0.0.0.0:8080\"\nstatic_dir = \"{www}\"\npayment_webhook_secret = [\"a-secret-of-16-chars\", \"another-secret-16-chars\"]\n"));
        assert_eq!(
            check(f.path()).unwrap(),
            format!("config file {}: 3 settings, valid", f.path().display())
        );
        assert!(check(Path::new("/nonexistent/checkout.toml")).is_err());
    }
}
