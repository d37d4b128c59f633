//! `cargo xtask storefront-vite`: the wasm package as a storefront developer meets it
//! (CONTRACT §12, §23). Packs `www/pkg` with `npm pack`, installs the tarball with Vite 7,
//! React and TypeScript into a scratch copy of `tests/storefront-vite/` (a React +
//! TypeScript app using `checkout-guard/react`) as a registry user would, type-checks it
//! with a strict `tsc` — with a file of deliberate misuses that must all be rejected, and
//! every TypeScript example of the package README, copied out of it — renders it once on
//! the server in Node, then drives it in headless Chromium against the real server:
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
const APP: [&str; 11] = [
    "package.json",
    "vite.config.js",
    "tsconfig.json",
    "index.html",
    "ssr.mjs",
    "src/main.tsx",
    "src/checks.ts",
    "src/App.tsx",
    "src/entry-server.tsx",
    "src/misuse.ts",
    "src/vite-env.d.ts",
];

/// The packages the app installs besides the tarball, as a React + TypeScript app would.
const DEPENDENCIES: [&str; 6] = [
    "vite@7",
    "typescript@5",
    "react@19",
    "react-dom@19",
    "@types/react@19",
    "@types/react-dom@19",
];

/// The package README's TypeScript examples (```ts and ```tsx blocks), each as its own
/// module in `src/readme/`, so that the strict `tsc` compiles what a newcomer copies.
fn readme_examples(app: &Path) -> Result<usize, String> {
    let readme = std::fs::read_to_string(root().join("crates/checkout-wasm/README.md"))
        .map_err(|e| format!("crates/checkout-wasm/README.md: {e}"))?;
    let dir = app.join("src/readme");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut count = 0;
    let mut block: Option<(&str, Vec<&str>)> = None;
    for line in readme.lines() {
        match (&mut block, line.trim_end()) {
            (None, "```ts") => block = Some(("ts", Vec::new())),
            (None, "```tsx") => block = Some(("tsx", Vec::new())),
            (Some((ext, lines)), "```") => {
                count += 1;
                // `export {}` makes a block without imports a module too.
                let text = format!("{}\nexport {{}};\n", lines.join("\n"));
                let file = dir.join(format!("example-{count}.{ext}"));
                std::fs::write(&file, text).map_err(|e| e.to_string())?;
                block = None;
            }
            (Some((_, lines)), _) => lines.push(line),
            (None, _) => {}
        }
    }
    if count == 0 {
        return Err("the package README has no ```ts or ```tsx example".into());
    }
    Ok(count)
}

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
        let tarball = tarball.to_string_lossy();
        run(Cmd::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--save-dev"])
            .args(DEPENDENCIES)
            .args([tarball.as_ref()])
            .dir(&app_dir))?;
        let examples = readme_examples(&app)?;
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
        let vite = app.join("node_modules/vite/bin/vite.js");
        let vite = vite.to_string_lossy();
        run(Cmd::new("node")
            .args([vite.as_ref(), "build", "--ssr", "src/entry-server.tsx"])
            .args(["--outDir", "dist-ssr"])
            .dir(&app_dir))?;
        let ssr = run_captured(Cmd::new("node").args(["ssr.mjs"]).dir(&app_dir))?;
        let (server, data) = crate::scratch_server::test_server("vite", &[])?;
        let dev = drive(&app, &server.url, "dev");
        let built = dev.and_then(|dev| {
            run(Cmd::new("node").args([vite.as_ref(), "build"]).dir(&app_dir))?;
            Ok(format!(
                "storefront-vite readme: ok ({examples} TypeScript examples of the package README compiled by the strict tsc)\n{ssr}{dev}{}",
                drive(&app, &server.url, "preview")?
            ))
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
