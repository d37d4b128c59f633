//! The checkout-number template an admin edits: any text is refused or parsed; a parsed
//! template renders any date and number without panicking, and the number's digits
//! appear in the result (numbers widen, never wrap).
#![no_main]

use checkout_core::numbering::{NumberFormat, MAX_NUMBER};
use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if let Ok(format) = NumberFormat::parse(text) {
        let date = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        let width = first % 19;
        for number in [1, 42, MAX_NUMBER] {
            let rendered = format.render(date, width, number);
            assert!(rendered.contains(&number.to_string()), "{rendered}");
        }
    }
});
