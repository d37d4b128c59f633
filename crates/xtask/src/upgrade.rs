//! The previous release's server, for the upgrade test (`tests/upgrade.rs`): checked out
//! from git at [`PREVIOUS_RELEASE`] into `target/previous-src` and built into its own
//! `target/previous` (kept between runs: built once per release).

use std::path::PathBuf;

use crate::{
    root,
    tools::{run, Cmd},
};

/// The release an upgrade starts from: the last one whose schema is older than this
/// one's (migration 0009, the compiled catalog with `catalog_overrides`; this release
/// adds 0010, the catalog as data). Move it forward with each release that adds a
/// migration.
pub const PREVIOUS_RELEASE: &str = "99aeab0ab866419aad2845148a4b9fd85cd7ec85";

/// Builds the previous release's `checkout-server` in the background; [`Building::wait`]
/// gives its path (none in a shallow clone, which does not hold the release: the upgrade
/// test then says it was skipped).
pub fn start() -> Result<Building, String> {
    let root = root();
    let binary = root.join("target/previous/debug/checkout-server");
    let stamp = root.join("target/previous/release-commit");
    if binary.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(PREVIOUS_RELEASE)
    {
        return Ok(Building {
            binary: Some(binary),
            build: None,
        });
    }
    let held = std::process::Command::new("git")
        .args(["cat-file", "-e", &format!("{PREVIOUS_RELEASE}^{{commit}}")])
        .current_dir(&root)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !held {
        println!(
            "SKIPPED (release {PREVIOUS_RELEASE} is not in this clone's history, a shallow \
             clone?): the upgrade test from it will not run"
        );
        return Ok(Building {
            binary: None,
            build: None,
        });
    }
    let source = root.join("target/previous-src");
    let _ = std::fs::remove_dir_all(&source);
    std::fs::create_dir_all(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let source_text = source.to_string_lossy().into_owned();
    // The history must hold the release: a shallow clone cannot test an upgrade.
    run(Cmd::new("sh").args([
        "-c",
        &format!("git archive {PREVIOUS_RELEASE} | tar -x -C '{source_text}'"),
    ]))?;
    let target = root.join("target/previous").to_string_lossy().into_owned();
    // At the lowest priority: it builds while the checks and tests run, on the cores
    // they leave idle, and is waited for only before the upgrade test.
    let child = Cmd::new("nice")
        .args([
            "-n",
            "19",
            "cargo",
            "build",
            "--quiet",
            "--package",
            "checkout-server",
            "--bin",
            "checkout-server",
        ])
        .args(["--target-dir", &target])
        .dir(&source_text)
        .spawn_quiet()?;
    Ok(Building {
        binary: Some(binary),
        build: Some((crate::background::Background::new(child), stamp)),
    })
}

/// The previous release's server, being built; stopped if dropped unwaited (an earlier
/// phase failed).
pub struct Building {
    binary: Option<PathBuf>,
    build: Option<(crate::background::Background, PathBuf)>,
}

impl Building {
    /// Waits for the build; the binary's path, if there is a release to build.
    pub fn wait(mut self) -> Result<Option<PathBuf>, String> {
        if let Some((mut build, stamp)) = self.build.take() {
            if let Some(status) = build.wait()? {
                if !status.success() {
                    return Err(format!(
                        "building the previous release {PREVIOUS_RELEASE} failed ({status}); \
                         run `cargo build -p checkout-server` in target/previous-src to see why"
                    ));
                }
                std::fs::write(&stamp, PREVIOUS_RELEASE).map_err(|e| e.to_string())?;
            }
        }
        Ok(self.binary)
    }
}
