//! Builds the test command starts beside its phases, and how to stop them with
//! everything they started.

use std::process::{Child, Command, ExitStatus, Stdio};

/// A build running beside the phases: waited for once, or stopped with everything it
/// started if dropped unwaited (an earlier phase failed).
#[derive(Debug)]
pub struct Background(Option<Child>);

impl Background {
    pub fn new(child: Child) -> Self {
        Background(Some(child))
    }

    /// Waits for it; `None` if it was waited for already.
    pub fn wait(&mut self) -> Result<Option<ExitStatus>, String> {
        match self.0.take() {
            Some(mut child) => child.wait().map(Some).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            stop_tree(&mut child);
        }
    }
}

/// Stops a background child and everything it started (cargo's rustc jobs, cargo-fuzz's
/// cargo), read from `/proc/<pid>/task/*/children` before any is killed, so that no
/// build keeps running after the command that started it gave up.
pub fn stop_tree(child: &mut std::process::Child) {
    fn descendants(pid: u32, out: &mut Vec<u32>) {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                out.push(child);
                descendants(child, out);
            }
        }
    }
    let mut tree = Vec::new();
    descendants(child.id(), &mut tree);
    let _ = child.kill();
    for pid in tree {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopping_a_tree_stops_the_grandchildren_too() {
        let mut child = Command::new("sh")
            .args(["-c", "sleep 300 & sleep 300 & wait"])
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let children = loop {
            let text = std::fs::read_to_string(format!(
                "/proc/{}/task/{}/children",
                child.id(),
                child.id()
            ))
            .unwrap_or_default();
            let pids: Vec<u32> = text
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            if pids.len() == 2 || started.elapsed().as_secs() > 5 {
                break pids;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(children.len(), 2, "the shell started its two sleeps");
        stop_tree(&mut child);
        std::thread::sleep(std::time::Duration::from_millis(200));
        for pid in children {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Gone, or a zombie waiting for init to reap it.
            assert!(
                state.is_empty() || state.contains(") Z "),
                "{pid} still runs: {state}"
            );
        }
    }
}
