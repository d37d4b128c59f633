//! The snapshot's seal: a SHA-256 digest over a canonical encoding of every captured
//! field, so that the summary a shopper confirmed can be named and any change to it
//! (at rest, in transit, or by a newer capture) detected.

use sha2::{Digest as _, Sha256};

use super::{Address, Snapshot};

impl Snapshot {
    /// SHA-256 over the canonical encoding of every captured field (everything but the
    /// digest itself), as `sha256:<64 hex digits>`.
    pub fn compute_digest(&self) -> String {
        let mut enc = Canonical::new("checkout-guard/snapshot/v2");
        enc.str(&self.currency);
        enc.count(self.lines.len());
        for line in &self.lines {
            enc.str(&line.sku);
            enc.str(&line.name);
            enc.int(i64::from(line.quantity));
            enc.int(line.unit_price);
            enc.str(&line.tax_class);
            enc.int(i64::from(line.tax_rate_bps));
            enc.int(line.subtotal);
            enc.int(line.discount);
            enc.int(line.tax);
            enc.int(line.total);
            enc.int(line.net);
            enc.int(line.gross);
        }
        for list in [&self.promotions, &self.vouchers] {
            enc.count(list.len());
            for applied in list {
                enc.str(&applied.id);
                enc.str(&applied.description);
                enc.int(applied.amount);
            }
        }
        match &self.shipping_method {
            Some(s) => {
                enc.count(1);
                enc.str(&s.id);
                enc.str(&s.name);
                enc.int(s.price);
                enc.opt(s.tax_class.as_deref());
                enc.int(i64::from(s.tax_rate_bps));
                enc.int(s.net);
                enc.int(s.tax);
                enc.int(s.gross);
            }
            None => enc.count(0),
        }
        match &self.payment_method {
            Some(p) => {
                enc.count(1);
                enc.str(&p.id);
                enc.str(&p.name);
            }
            None => enc.count(0),
        }
        enc.int(i64::from(self.prices_include_tax));
        for address in [&self.shipping_address, &self.billing_address] {
            enc.address(address.as_ref());
        }
        let t = &self.totals;
        for amount in [
            t.subtotal,
            t.discount,
            t.shipping,
            t.tax,
            t.grand_total,
            t.net,
        ] {
            enc.int(amount);
        }
        enc.finish()
    }

    /// Whether the stored digest matches the fields (detects a snapshot altered at rest
    /// or in transit).
    pub fn is_sealed(&self) -> bool {
        self.digest == self.compute_digest()
    }
}

/// An unambiguous byte encoding: every string is length-prefixed and every integer is
/// fixed-width big-endian, so two different field lists can never encode alike.
struct Canonical {
    hasher: Sha256,
}

impl Canonical {
    fn new(domain: &str) -> Self {
        let mut enc = Canonical {
            hasher: Sha256::new(),
        };
        enc.str(domain);
        enc
    }

    fn str(&mut self, s: &str) {
        self.hasher.update((s.len() as u64).to_be_bytes());
        self.hasher.update(s.as_bytes());
    }

    fn int(&mut self, n: i64) {
        self.hasher.update(n.to_be_bytes());
    }

    fn count(&mut self, n: usize) {
        self.hasher.update((n as u64).to_be_bytes());
    }

    fn opt(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.count(1);
                self.str(s);
            }
            None => self.count(0),
        }
    }

    fn address(&mut self, a: Option<&Address>) {
        let Some(a) = a else {
            return self.count(0);
        };
        self.count(1);
        for field in [&a.name, &a.line1, &a.city, &a.postal_code, &a.country] {
            self.str(field);
        }
        for field in [&a.line2, &a.region, &a.phone] {
            self.opt(field.as_deref());
        }
    }

    fn finish(self) -> String {
        let bytes = self.hasher.finalize();
        let mut out = String::with_capacity(7 + 64);
        out.push_str("sha256:");
        for b in bytes {
            out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
        }
        out
    }
}
