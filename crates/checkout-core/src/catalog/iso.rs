//! The codes a catalog may name: ISO 4217 currencies with the number of their minor
//! digits (the list in force in 2025, without funds, metals and testing codes other than
//! the ones shops price in), and ISO 3166-1 alpha-2 countries (all 249 officially
//! assigned codes).

/// Active ISO 4217 codes with no minor digits.
const DIGITS_0: &str = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
/// Active ISO 4217 codes with three minor digits.
const DIGITS_3: &str = "BHD IQD JOD KWD LYD OMR TND";
/// Active ISO 4217 codes with four minor digits.
const DIGITS_4: &str = "CLF UYW";
/// Every other active ISO 4217 code: two minor digits.
const DIGITS_2: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB \
    BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD \
    EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD \
    KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK \
    MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD \
    SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH \
    USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG";

/// ISO 3166-1 alpha-2: every officially assigned code.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH \
    BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW \
    CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI \
    GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO \
    JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH \
    MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA \
    PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL \
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US \
    UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

fn listed(list: &str, code: &str) -> bool {
    !code.is_empty() && !code.contains(' ') && list.split_ascii_whitespace().any(|c| c == code)
}

/// The number of minor digits of an ISO 4217 currency, or `None` for a code that is not
/// one (codes are upper case).
pub fn currency_digits(code: &str) -> Option<u32> {
    [(DIGITS_0, 0), (DIGITS_2, 2), (DIGITS_3, 3), (DIGITS_4, 4)]
        .into_iter()
        .find(|(list, _)| listed(list, code))
        .map(|(_, digits)| digits)
}

/// Whether `code` is an ISO 3166-1 alpha-2 country code (upper case).
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && listed(COUNTRIES, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_whole_and_distinct() {
        let countries: Vec<&str> = COUNTRIES.split_ascii_whitespace().collect();
        assert_eq!(countries.len(), 249);
        let mut sorted = countries.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, countries, "sorted, no duplicates");
        let mut currencies: Vec<&str> = [DIGITS_0, DIGITS_2, DIGITS_3, DIGITS_4]
            .iter()
            .flat_map(|l| l.split_ascii_whitespace())
            .collect();
        let n = currencies.len();
        currencies.sort_unstable();
        currencies.dedup();
        assert_eq!(currencies.len(), n, "a currency in two lists");
        assert!(currencies.iter().all(|c| c.len() == 3));
    }

    #[test]
    fn codes_are_looked_up_exactly() {
        assert_eq!(currency_digits("EUR"), Some(2));
        assert_eq!(currency_digits("JPY"), Some(0));
        assert_eq!(currency_digits("KWD"), Some(3));
        assert_eq!(currency_digits("CLF"), Some(4));
        for bad in ["eur", "EU", "EURO", "", "XXX", "EUR USD", "ZZZ"] {
            assert_eq!(currency_digits(bad), None, "{bad}");
        }
        assert!(is_country("DE") && is_country("JP") && is_country("AX"));
        for bad in ["de", "UK", "EU", "D", "DEU", "", "DE FR"] {
            assert!(!is_country(bad), "{bad}");
        }
    }
}
