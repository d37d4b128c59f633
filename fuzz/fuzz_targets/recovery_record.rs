//! The browser's recovery record (what `localStorage` holds): any text is either
//! refused or parsed into a record that writes back and reads again as itself.
#![no_main]

use checkout_core::recovery::RecoveryRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(record) = RecoveryRecord::parse(text) {
        let again = RecoveryRecord::parse(&record.to_json()).expect("a parsed record reads back");
        assert_eq!(again, record);
    }
});
