//! Card numbers in text (CONTRACT §11, §13): the one rule that finds them — 12 to 19
//! digits passing the Luhn check, alone or in groups however they are set apart — used
//! to mask them in every problem, log line, reason and name, and to refuse them where
//! only a token belongs.

/// What replaces a card number in text the shop shows or logs.
pub const MASK: &str = "[card number removed]";

/// `text` with every run of digits that could hold a card number replaced by [`MASK`]:
/// digits, alone or in groups set apart by one to three [`SEPARATORS`], in which 12 to 19 digits in a row or in consecutive groups pass the Luhn check (as
/// every card number does; a checkout number or a timestamp mostly does not), whatever
/// comes before or after. Used on every problem's detail, on the address the log
/// writes and to refuse request ids and payment tokens, so that a card number sent
/// anywhere is neither echoed nor kept.
pub fn mask_card_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in card_runs(text) {
        out.push_str(&text[copied..start]);
        out.push_str(MASK);
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Whether `text` holds a card number standing apart: a run as [`mask_card_numbers`]
/// finds, with neither a letter nor a digit just before or after it. (A random token
/// or id in hex holds digit runs glued to letters; a card number put in a token is
/// not glued to anything: `tok_4242…`, `4242_4242_…`.)
pub fn holds_standalone_card_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    card_runs(text).into_iter().any(|(start, end)| {
        let before = start.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(end).copied();
        [before, after]
            .into_iter()
            .flatten()
            .all(|b| !b.is_ascii_alphanumeric())
    })
}

/// The byte ranges of the runs of digits in `text` that hold a card number.
fn card_runs(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // The run: groups of digits, each separator followed by a digit.
        let mut groups: Vec<&[u8]> = Vec::new();
        let (mut end, mut group_start) = (i, i);
        while end < bytes.len() {
            if bytes[end].is_ascii_digit() {
                end += 1;
            } else if let Some(gap) = separator(&bytes[end..]) {
                groups.push(&bytes[group_start..end]);
                end += gap;
                group_start = end;
            } else {
                break;
            }
        }
        groups.push(&bytes[group_start..end]);
        if holds_card_number(&groups) {
            runs.push((i, end));
        }
        i = end;
    }
    runs
}

/// What may set a card number's groups apart, 1 to [`MAX_SEPARATORS`] in a row: blanks
/// (space, tab, no-break space, a form's `+`), dashes of any width, `.`, `_`, `,`, `/`, `:`.
const SEPARATORS: [&str; 13] = [
    " ", "\t", "\u{a0}", "+", "-", "\u{2013}", "\u{2014}", "\u{2010}", ".", "_", ",", "/", ":",
];
/// Most separators between two groups (`4242 - 4242`): more are two numbers.
const MAX_SEPARATORS: usize = 3;

/// The length of the separators at the start of `rest` when a digit follows them.
fn separator(rest: &[u8]) -> Option<usize> {
    let mut at = 0;
    for _ in 0..MAX_SEPARATORS {
        at += SEPARATORS
            .iter()
            .find(|s| rest[at..].starts_with(s.as_bytes()))?
            .len();
        if rest.get(at).is_some_and(u8::is_ascii_digit) {
            return Some(at);
        }
    }
    None
}

/// Whether consecutive `groups` (or one group alone) hold 12 to 19 digits passing Luhn.
fn holds_card_number(groups: &[&[u8]]) -> bool {
    (0..groups.len()).any(|first| {
        let mut digits: Vec<u8> = Vec::with_capacity(19);
        groups[first..].iter().any(|group| {
            digits.extend_from_slice(group);
            (12..=19).contains(&digits.len()) && luhn(&digits)
        }) || groups[first].len() > 19 && windows_hold_card(groups[first])
    })
}

/// A long run of plain digits: any 13 to 19 of them in a row passing Luhn.
fn windows_hold_card(digits: &[u8]) -> bool {
    (13..=19).any(|len| digits.windows(len).any(luhn))
}

/// The Luhn check over ASCII digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(n, d)| {
            let d = u32::from(d - b'0');
            if n % 2 == 1 {
                let twice = d * 2;
                if twice > 9 {
                    twice - 9
                } else {
                    twice
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
