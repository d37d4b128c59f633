//! Password hashes: Argon2id, stored as PHC strings (`$argon2id$v=19$m=…,t=2,p=1$salt$hash`).
//!
//! Each hashing thread (`throttle::Guards::hash`) computes in a memory block of its own,
//! allocated once and reused. Letting the argon2 crate allocate its 19 MiB per hash made
//! glibc raise its mmap threshold after the first free, so later blocks came from the
//! threads' heaps and were never given back: 200 concurrent sign-ins took the server's
//! peak from 40 to 311 MiB. With the blocks kept, the same flood adds one block per
//! hashing thread (BENCHMARKS.md, "Login flood").
//!
//! What a thread keeps is bounded: a stored hash whose memory cost is above
//! [`MAX_COST_KIB`] matches nothing (its parameters come from the database, and a
//! corrupted or foreign row must not make the process allocate gigabytes), and after a
//! hash costlier than the configured one the thread gives the extra memory back.

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

/// The largest memory cost a stored hash may ask for (256 MiB; the default is 19 MiB).
pub const MAX_COST_KIB: u32 = 256 * 1024;

/// Computes the raw Argon2 output into `out` with this thread's memory, then keeps at
/// most `keep_kib` of it (one Argon2 block is one KiB).
fn compute(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    keep_kib: u32,
) -> Result<(), String> {
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        let needed = argon.params().block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        let done = argon
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
            .map_err(|e| e.to_string());
        let keep = usize::try_from(keep_kib.max(Params::MIN_M_COST)).unwrap_or(usize::MAX);
        if blocks.len() > keep {
            blocks.truncate(keep);
            blocks.shrink_to_fit();
        }
        done
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
    compute(&argon, password, &salt, &mut out, memory_kib)?;
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
/// salt are the stored ones; the comparison is in constant time). An unreadable hash, or
/// one costing more than [`MAX_COST_KIB`], matches nothing. The thread keeps at most
/// `keep_kib` of memory afterwards (the configured cost).
pub fn verify(password: &[u8], stored: &str, keep_kib: u32) -> bool {
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
    if params.m_cost() > MAX_COST_KIB {
        tracing::warn!(
            m_cost = params.m_cost(),
            "a stored password hash asks for more memory than allowed; sign-in refused"
        );
        return false;
    }
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    compute(&argon, password, salt, &mut out, keep_kib).is_ok()
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
        assert!(verify(b"correct horse", &stored, 64));
        assert!(!verify(b"correct horsf", &stored, 64));
        assert!(!verify(b"correct horse", "not a hash", 64));
        assert!(!verify(b"correct horse", &stored.replace("t=2", "t=3"), 64));
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
        assert!(verify(b"pw", &theirs, 64));
        assert!(!verify(b"px", &theirs, 64));
    }

    #[test]
    fn the_memory_is_kept_up_to_the_configured_cost() {
        let kept = || BLOCKS.with(|b| b.borrow().len());
        hash(b"a", 256).unwrap();
        assert_eq!(kept(), 256, "one block per KiB");
        hash(b"b", 256).unwrap();
        assert_eq!(kept(), 256, "reused");
        // A costlier stored hash (made before the cost was lowered) still verifies, and
        // the thread gives the extra memory back.
        let costly = hash(b"c", 1024).unwrap();
        assert_eq!(kept(), 1024);
        assert!(verify(b"c", &costly, 256));
        assert_eq!(kept(), 256);
    }

    #[test]
    fn a_stored_hash_asking_for_too_much_memory_matches_nothing() {
        let stored = hash(b"pw", 64).unwrap();
        let greedy = stored.replace("m=64,", &format!("m={},", MAX_COST_KIB + 1));
        assert!(!verify(b"pw", &greedy, 64));
        assert!(
            BLOCKS.with(|b| b.borrow().len()) <= 64,
            "nothing was allocated for it"
        );
    }
}
