//! `cargo xtask storefront-vite`: the wasm package as a storefront developer meets it
//! (CONTRACT §12). Packs `www/pkg` with `npm pack`, installs the tarball with Vite 7 and
//! TypeScript into a scratch copy of `tests/storefront-vite/` as a registry user would,
//! type-checks it with a strict `tsc` (including a file of deliberate misuses that must
//! all be rejected), then drives the app in headless Chromium against the real server:
//! once from Vite's dev server and once from a production build (`vite preview`).

use std::{
    net::{TcpListener, TcpStream},
    path::Path,
    time::{Duration, Instant},
};

use crate::{
    root,
    tools::{self, run, run_captured, Cmd},
};

/// The app's files, copied into the scratch directory.
const APP: [&str; 6] = [
    "package.json",
    "vite.config.js",
    "tsconfig.json",
    "index.html",
    "src/main.ts",
    "src/misuse.ts",
];

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn wait_for(port: u16, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("{what} did not listen on port {port} within 60 s"))
}

/// Runs vite's `mode` (`dev` or `preview`) on a free port while `drive.mjs` checks it.
fn drive(app: &Path, api: &str, mode: &str) -> Result<String, String> {
    let port = free_port()?.to_string();
    let vite = app.join("node_modules/vite/bin/vite.js");
    let mut args = vec![vite.to_string_lossy().into_owned()];
    if mode == "preview" {
        args.push("preview".into());
    }
    args.extend(["--host", "127.0.0.1", "--port", &port].map(str::to_owned));
    let mut server = Cmd::new("node")
        .args(args.iter().map(String::as_str))
        .env("CHECKOUT_API", api)
        .dir(&app.to_string_lossy())
        .spawn_quiet()?;
    let checked = wait_for(port.parse().unwrap_or(0), &format!("vite {mode}")).and_then(|()| {
        let drive = root().join("tests/storefront-vite/drive.mjs");
        run_captured(Cmd::new("node").args([
            drive.to_string_lossy().as_ref(),
            &format!("http://127.0.0.1:{port}/"),
            mode,
        ]))
    });
    let _ = server.kill();
    let _ = server.wait();
    checked
}

/// The whole check; returns what the drives printed.
pub fn run_storefront() -> Result<String, String> {
    tools::ensure_chromium()?;
    tools::ensure_node()?;
    let pkg = crate::build_wasm_package()?;
    let pkg = pkg.parent().ok_or("no package directory")?.to_owned();
    let scratch = std::env::temp_dir().join(format!("checkout-vite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let app = scratch.join("app");
    std::fs::create_dir_all(app.join("src")).map_err(|e| e.to_string())?;
    let result = (|| {
        run(Cmd::new("npm")
            .args(["pack", "--pack-destination", &scratch.to_string_lossy()])
            .dir(&pkg.to_string_lossy()))?;
        let tarball = scratch.join(format!("checkout-guard-{}.tgz", env!("CARGO_PKG_VERSION")));
        let source = root().join("tests/storefront-vite");
        for file in APP {
            std::fs::copy(source.join(file), app.join(file)).map_err(|e| format!("{file}: {e}"))?;
        }
        let app_dir = app.to_string_lossy().into_owned();
        run(Cmd::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--save-dev",
                "vite@7",
                "typescript@5",
                &tarball.to_string_lossy(),
            ])
            .dir(&app_dir))?;
        // Strict, with the app's ES2022 lib, and again with the newest lib (where
        // `Symbol.dispose` is TypeScript's own): the package's types pass under both.
        let tsc = app.join("node_modules/typescript/bin/tsc");
        for lib in [None, Some("ESNext,DOM")] {
            let mut args = vec![tsc.to_string_lossy().into_owned(), "--noEmit".into()];
            args.extend(["-p".into(), ".".into()]);
            if let Some(lib) = lib {
                args.extend(["--lib".into(), lib.into()]);
            }
            run(Cmd::new("node")
                .args(args.iter().map(String::as_str))
                .dir(&app_dir))?;
        }
        let (server, data) = crate::scratch_server::test_server("vite", &[])?;
        let dev = drive(&app, &server.url, "dev");
        let built = dev.and_then(|dev| {
            let vite = app.join("node_modules/vite/bin/vite.js");
            run(Cmd::new("node")
                .args([vite.to_string_lossy().as_ref(), "build"])
                .dir(&app_dir))?;
            Ok(dev + &drive(&app, &server.url, "preview")?)
        });
        drop(server);
        let _ = std::fs::remove_dir_all(&data);
        built
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// The command.
pub fn cmd_storefront() -> Result<(), String> {
    let out = run_storefront()?;
    print!("{out}");
    Ok(())
}
