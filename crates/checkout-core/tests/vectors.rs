//! Runs the shared verdict vectors natively; the wasm crate runs the same file in Chromium.

#[test]
fn shared_verdict_vectors_pass_natively() {
    match checkout_core::vectors::run_all() {
        Ok(count) => {
            assert!(count >= 50, "only {count} vectors");
            println!("shared verdict vectors: {count} passed natively");
        }
        Err(failures) => panic!(
            "{} vector(s) failed:\n{}",
            failures.len(),
            failures.join("\n")
        ),
    }
}

#[test]
fn shared_rule_vectors_pass_natively() {
    match checkout_core::vectors::run_rule_vectors() {
        Ok((records, requirements, answers)) => {
            assert!(records >= 30 && requirements >= 30 && answers >= 30);
            println!("shared record vectors: {records} passed natively");
            println!("shared requirement vectors: {requirements} passed natively");
            println!("shared answer vectors: {answers} passed natively");
        }
        Err(failures) => panic!(
            "{} vector(s) failed:\n{}",
            failures.len(),
            failures.join("\n")
        ),
    }
}
