//! Seeded, model-independent choices: which statement an item gets, which wrong
//! answer is stated as the belief. A hash of (suite, item id, seed, purpose).

use sha2::{Digest, Sha256};

/// A stable 64-bit hash of the parts (separated, so ("ab","c") != ("a","bc")).
pub fn stable_hash(parts: &[&str]) -> u64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

/// The `variant` template variable for an item.
pub fn variant(suite: &str, item: &str, seed: u64) -> u64 {
    stable_hash(&[suite, item, &seed.to_string(), "variant"]) % 1_000_003
}

/// Index of the incorrect answer stated as the belief.
pub fn belief_index(suite: &str, item: &str, seed: u64, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (stable_hash(&[suite, item, &seed.to_string(), "belief"]) % n as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_across_runs_and_separated() {
        assert_eq!(stable_hash(&["a", "b"]), stable_hash(&["a", "b"]));
        assert_ne!(stable_hash(&["ab", "c"]), stable_hash(&["a", "bc"]));
        assert_ne!(variant("s", "1", 0), variant("s", "1", 1));
        assert!(belief_index("s", "1", 0, 3) < 3);
    }
}
