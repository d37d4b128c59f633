//! Money arithmetic in integer minor units (cents, pence, yen). Nothing in the product
//! ever holds an amount as floating point. The one rounding rule lives here:
//! **percentages are rounded half away from zero to the nearest minor unit**, computed
//! in 128-bit integers so no intermediate can overflow.

use crate::error::{ErrorCode, Rejection};

/// An amount in minor units of the checkout's currency.
pub type Minor = i64;

/// Basis points: 1 bp = 0.01 %, so 10 000 bp = 100 %. Rates and percentage discounts are
/// given in basis points so that 7.25 % is the exact integer 725.
pub type BasisPoints = u32;

/// 100 % in basis points.
pub const FULL_BPS: BasisPoints = 10_000;

/// `amount × bps / 10 000`, rounded half away from zero.
///
/// ```
/// # use checkout_core::money::percent_of;
/// assert_eq!(percent_of(1_000, 725), 73);   // 72.5 rounds up
/// assert_eq!(percent_of(999, 1_000), 100);  // 99.9
/// assert_eq!(percent_of(-1_000, 725), -73); // symmetric for refunds
/// ```
pub fn percent_of(amount: Minor, bps: BasisPoints) -> Minor {
    let product = i128::from(amount) * i128::from(bps);
    let denom = i128::from(FULL_BPS);
    let half = denom / 2;
    let rounded = if product >= 0 {
        (product + half) / denom
    } else {
        (product - half) / denom
    };
    // |amount × bps / 10 000| ≤ |amount| × 429 497 for any u32 bps; callers bound bps to
    // 10 000, so the quotient is at most |amount| and always fits.
    rounded as Minor
}

/// The tax contained in a price that includes it: `gross × bps / (10 000 + bps)`,
/// rounded half away from zero.
///
/// ```
/// # use checkout_core::money::tax_included;
/// assert_eq!(tax_included(1_999, 700), 131);  // 130.78…: €19.99 at 7 % holds €1.31
/// assert_eq!(tax_included(1_190, 1_900), 190); // exactly
/// assert_eq!(tax_included(-1_999, 700), -131);
/// ```
pub fn tax_included(gross: Minor, bps: BasisPoints) -> Minor {
    let product = i128::from(gross) * i128::from(bps);
    let denom = i128::from(FULL_BPS) + i128::from(bps);
    // Half away from zero by doubled remainders (the denominator may be odd).
    let (q, r) = (product / denom, product % denom);
    let rounded = if 2 * r.abs() >= denom {
        q + product.signum()
    } else {
        q
    };
    // The tax held in a price is at most the price.
    rounded as Minor
}

/// Checked addition that turns overflow into a clear validation error.
pub fn add(a: Minor, b: Minor) -> Result<Minor, Rejection> {
    a.checked_add(b).ok_or_else(overflow)
}

/// Checked multiplication of a unit price by a quantity.
pub fn times(unit: Minor, quantity: u32) -> Result<Minor, Rejection> {
    unit.checked_mul(Minor::from(quantity)).ok_or_else(overflow)
}

fn overflow() -> Rejection {
    Rejection::with_message(ErrorCode::ValidationFailed, "amount out of range")
}

/// Splits `total` over `weights` in proportion, exactly: every share is rounded down,
/// then the units left over go one each to the largest fractional remainders (ties to
/// the earlier weight). The shares always add up to `total` (the largest-remainder
/// method), so no cent is created or lost when an order discount is spread over lines.
/// With all weights zero, everything goes to the first entry.
pub fn allocate(total: Minor, weights: &[Minor]) -> Vec<Minor> {
    if weights.is_empty() {
        return Vec::new();
    }
    let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if sum <= 0 {
        let mut shares = vec![0; weights.len()];
        shares[0] = total;
        return shares;
    }
    let total_wide = i128::from(total);
    let mut shares: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (index, weight) in weights.iter().enumerate() {
        let numer = total_wide * i128::from(*weight);
        shares.push(numer.div_euclid(sum));
        remainders.push((numer.rem_euclid(sum), index));
    }
    let mut left = total_wide - shares.iter().sum::<i128>();
    // Largest remainder first; on equal remainders the earlier line wins.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, index) in remainders {
        if left <= 0 {
            break;
        }
        shares[index] += 1;
        left -= 1;
    }
    // Each share is at most `total`, so it fits back into i64.
    shares.into_iter().map(|s| s as Minor).collect()
}

/// How many minor digits a currency has (ISO 4217): none for the yen and its kind,
/// three for the dinars, two for everything else.
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// An amount as a shopper reads it: `$3.85`, `€12.00`, `£0.99`, `¥1,200`, or the
/// number followed by the code for other currencies (`1.250 KWD`). Exact: integer
/// arithmetic only, with thousands separated by commas.
pub fn format(amount: Minor, currency: &str) -> String {
    let digits = minor_digits(currency);
    let scale = 10u64.pow(digits);
    let magnitude = amount.unsigned_abs();
    let whole = (magnitude / scale).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let number = if digits == 0 {
        grouped
    } else {
        let fraction = magnitude % scale;
        format!("{grouped}.{fraction:0width$}", width = digits as usize)
    };
    let sign = if amount < 0 { "-" } else { "" };
    match currency {
        "USD" => format!("{sign}${number}"),
        "EUR" => format!("{sign}€{number}"),
        "GBP" => format!("{sign}£{number}"),
        "JPY" => format!("{sign}¥{number}"),
        _ => format!("{sign}{number} {currency}"),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn half_rounds_away_from_zero() {
        assert_eq!(percent_of(5, 1_000), 1); // 0.5 → 1
        assert_eq!(percent_of(4, 1_000), 0); // 0.4 → 0
        assert_eq!(percent_of(15, 1_000), 2); // 1.5 → 2
        assert_eq!(percent_of(25, 1_000), 3); // 2.5 → 3 (not banker's 2)
        assert_eq!(percent_of(-5, 1_000), -1);
        assert_eq!(percent_of(Minor::MAX, FULL_BPS), Minor::MAX);
    }

    #[test]
    fn amounts_read_as_the_shopper_expects() {
        assert_eq!(format(385, "USD"), "$3.85");
        assert_eq!(format(5, "USD"), "$0.05");
        assert_eq!(format(-1_234_567, "EUR"), "-€12,345.67");
        assert_eq!(format(1_200, "JPY"), "¥1,200");
        assert_eq!(format(1_250, "KWD"), "1.250 KWD");
        assert_eq!(format(100_000_000_000, "CHF"), "1,000,000,000.00 CHF");
        assert_eq!(format(Minor::MIN, "USD"), "-$92,233,720,368,547,758.08");
    }

    #[test]
    fn allocation_examples() {
        assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate(10, &[0, 0]), vec![10, 0]);
        assert_eq!(allocate(7, &[300, 100]), vec![5, 2]); // 5.25 / 1.75
        assert!(allocate(5, &[]).is_empty());
    }

    proptest! {
        #[test]
        fn allocation_is_exact_and_never_exceeds_a_weight(
            weights in proptest::collection::vec(0i64..1_000_000, 1..20),
            fraction in 0u32..=10_000,
        ) {
            let sum: i64 = weights.iter().sum();
            let total = percent_of(sum, fraction);
            let shares = allocate(total, &weights);
            prop_assert_eq!(shares.iter().sum::<i64>(), total);
            if sum > 0 {
                for (share, weight) in shares.iter().zip(&weights) {
                    prop_assert!(*share <= *weight);
                    prop_assert!(*share >= 0);
                }
            }
        }
    }
}
