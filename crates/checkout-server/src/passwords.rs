//! Password hashes: Argon2id, stored as PHC strings (`$argon2id$v=19$m=…,t=2,p=1$salt$hash`).
//!
//! Each hashing thread (`throttle::Guards::hash`) computes in a memory block of its own,
//! allocated once and reused. Letting the argon2 crate allocate its 19 MiB per hash made
//! glibc raise its mmap threshold after the first free, so later blocks came from the
//! threads' heaps and were never given back: 200 concurrent sign-ins took the server's
//! peak from 40 to 311 MiB. With the blocks kept, the same flood adds one block per
//! hashing thread (BENCHMARKS.md, "Login flood").

use std::cell::RefCell;

use argon2::{
    password_hash::{Output, ParamsString, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use rand::RngCore;

thread_local! {
    /// This thread's Argon2 memory, grown to the largest cost it has computed.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Computes the raw Argon2 output into `out` with this thread's memory.
fn compute(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), String> {
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        let needed = argon.params().block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
            .map_err(|e| e.to_string())
    })
}

/// A new hash of `password` with a random salt: Argon2id, `memory_kib` of memory, two
/// passes, one lane, 32 bytes of output.
pub fn hash(password: &[u8], memory_kib: u32) -> Result<String, String> {
    let params = Params::new(memory_kib.max(Params::MIN_M_COST), 2, 1, Some(32))
        .map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt_string = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    let mut out = [0u8; 32];
    compute(&argon, password, &salt, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(|e| e.to_string())?,
        salt: Some(salt_string.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the stored hash (its algorithm, version, parameters and
/// salt are the stored ones; the comparison is in constant time). An unreadable hash
/// matches nothing.
pub fn verify(password: &[u8], stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(phc.algorithm), Params::try_from(&phc))
    else {
        return false;
    };
    let version = phc
        .version
        .map_or(Ok(Version::default()), Version::try_from)
        .unwrap_or(Version::default());
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    compute(&argon, password, salt, &mut out).is_ok()
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash(b"correct horse", 64).unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=64,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify(b"correct horse", &stored));
        assert!(!verify(b"correct horsf", &stored));
        assert!(!verify(b"correct horse", "not a hash"));
        assert!(!verify(b"correct horse", &stored.replace("t=2", "t=3")));
    }

    #[test]
    fn hashes_agree_with_the_argon2_crate_both_ways() {
        // Ours verify with the crate's verifier…
        let ours = hash(b"pw", 64).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"pw", &parsed).is_ok());
        // …and hashes the crate made (earlier releases stored these) verify with ours.
        let params = Params::new(64, 2, 1, None).unwrap();
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = argon2::PasswordHasher::hash_password(
            &Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            b"pw",
            &salt,
        )
        .unwrap()
        .to_string();
        assert!(verify(b"pw", &theirs));
        assert!(!verify(b"px", &theirs));
    }

    #[test]
    fn the_memory_is_kept_for_the_next_hash() {
        hash(b"a", 256).unwrap();
        let kept = BLOCKS.with(|b| b.borrow().len());
        assert_eq!(kept, 256, "one block per KiB");
        hash(b"b", 64).unwrap();
        assert_eq!(
            BLOCKS.with(|b| b.borrow().len()),
            kept,
            "reused, not shrunk or regrown"
        );
    }
}
