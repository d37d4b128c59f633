//! `checkout-server`: the authoritative Checkout Guard HTTP server. Everything lives in
//! the library; this file only reads the command line and starts it.

use std::process::ExitCode;

use checkout_server::config::{self, Config};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "config") {
        return match (
            args.get(2).and_then(|a| a.to_str()),
            args.get(3),
            args.len(),
        ) {
            (Some("check"), Some(file), 4) => match config::file::check(file.as_ref()) {
                Ok(said) => {
                    println!("{said}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("checkout-server: {error}");
                    ExitCode::FAILURE
                }
            },
            _ => {
                eprintln!("usage: checkout-server config check FILE");
                ExitCode::from(2)
            }
        };
    }
    // `catalog import|export FILE [flags]`: the stored catalog from or to a file.
    let mut args = args;
    let mut catalog = None;
    if args.get(1).is_some_and(|a| a == "catalog") {
        let verb = args.get(2).and_then(|a| a.to_str()).map(str::to_owned);
        match (verb.as_deref(), args.get(3)) {
            (Some(verb @ ("import" | "export")), Some(file)) => {
                catalog = Some((verb.to_owned(), std::path::PathBuf::from(file)));
                args.drain(1..4);
            }
            _ => {
                eprintln!("usage: checkout-server catalog import|export FILE [--database-url URL] [--data-dir DIR]");
                return ExitCode::from(2);
            }
        }
    }
    // `migrate [flags]` and `backup --to FILE [flags]`: the command, then the usual
    // settings (from flags, the environment and the config file).
    let command = args
        .get(1)
        .and_then(|a| a.to_str())
        .filter(|a| matches!(*a, "migrate" | "backup"))
        .map(str::to_owned);
    let mut backup_to = None;
    if let Some(command) = &command {
        args.remove(1);
        if command == "backup" {
            let at = args.iter().position(|a| a == "--to");
            match at.filter(|i| i + 1 < args.len()) {
                Some(i) => {
                    backup_to = Some(std::path::PathBuf::from(args.remove(i + 1)));
                    args.remove(i);
                }
                None => {
                    eprintln!("usage: checkout-server backup --to FILE [--data-dir DIR]");
                    return ExitCode::from(2);
                }
            }
        }
    }
    let args = match config::file::argv(args) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("checkout-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let config = Config::parse_from(args);
    if config.print_openapi {
        match serde_json::to_string_pretty(&checkout_server::openapi()) {
            Ok(doc) => {
                println!("{doc}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("checkout-server: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some((verb, file)) = catalog {
        return catalog_command(&config, &verb, &file).await;
    }
    match command.as_deref() {
        Some("migrate") => {
            // Which database, said plainly: a migrate run from the wrong directory would
            // otherwise "succeed" on a new, empty SQLite file.
            let (which, new) = match config.database_url.as_deref() {
                Some(url) => (checkout_server::db::redact(url), false),
                None => {
                    let file = config.data_dir.join("checkout.db");
                    (file.display().to_string(), !file.exists())
                }
            };
            return match checkout_server::db::Db::connect(
                config.database_url.as_deref(),
                &config.data_dir,
                1,
            )
            .await
            {
                Ok(db) => {
                    db.close().await;
                    let created = if new {
                        " (a new database: there was none)"
                    } else {
                        ""
                    };
                    println!("checkout-server: {which}: the schema is up to date{created}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("checkout-server: {error}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(_) => {
            let from = match checkout_server::ops::backup::source(&config) {
                Ok(from) => from,
                Err(error) => {
                    eprintln!("checkout-server: {error}");
                    return ExitCode::FAILURE;
                }
            };
            let to = backup_to.unwrap_or_default();
            return match checkout_server::ops::backup::sqlite(&from, &to) {
                Ok(said) => {
                    println!("checkout-server: {said}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("checkout-server: {error}");
                    ExitCode::FAILURE
                }
            };
        }
        None => {}
    }
    if let Err(error) = config.check() {
        eprintln!("checkout-server: {error}");
        return ExitCode::FAILURE;
    }
    let traces = match checkout_server::ops::telemetry::init(
        &config.log_format,
        config.otlp_endpoint.as_deref(),
    ) {
        Ok(traces) => traces,
        Err(error) => {
            eprintln!("checkout-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = match checkout_server::serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "checkout-server stopped");
            eprintln!("checkout-server: {error}");
            ExitCode::FAILURE
        }
    };
    if let Some(traces) = traces {
        // The exporter's blocking client must not run on the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || traces.shutdown()).await;
    }
    code
}

/// `checkout-server catalog import|export FILE`: on the configured database (migrated
/// first), without serving.
async fn catalog_command(config: &Config, verb: &str, file: &std::path::Path) -> ExitCode {
    use checkout_server::catalog::seed;
    let db =
        match checkout_server::db::Db::connect(config.database_url.as_deref(), &config.data_dir, 1)
            .await
        {
            Ok(db) => db,
            Err(error) => {
                eprintln!("checkout-server: {error}");
                return ExitCode::FAILURE;
            }
        };
    let done = if verb == "import" {
        seed::import(&db, file).await
    } else {
        seed::export(&db, file).await
    };
    db.close().await;
    match done {
        Ok(said) => {
            // Export to stdout keeps stdout for the document.
            eprintln!("checkout-server: {said}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("checkout-server: {error}");
            ExitCode::FAILURE
        }
    }
}
