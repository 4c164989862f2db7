//! Owns randomness: one seeded generator for session ids, transfer tokens and temporary names.

use std::sync::{Mutex, PoisonError};

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// The generator behind every id, token and random name vcmock hands out.
///
/// With a seed, the sequence is reproducible; without one it is seeded from the operating system
/// and tokens are unguessable.
#[derive(Debug)]
pub struct IdGen {
    seed: Option<u64>,
    rng: Mutex<ChaCha20Rng>,
}

impl IdGen {
    /// A generator seeded with `seed`, or from the operating system when `None`.
    pub fn new(seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(s) => ChaCha20Rng::seed_from_u64(s),
            None => ChaCha20Rng::from_os_rng(),
        };
        Self {
            seed,
            rng: Mutex::new(rng),
        }
    }

    /// The seed, if one was given.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// Starts the sequence again from the seed (a no-op for unseeded generators' predictability,
    /// which are reseeded from the operating system).
    pub fn reset(&self) {
        *self.lock() = match self.seed {
            Some(s) => ChaCha20Rng::seed_from_u64(s),
            None => ChaCha20Rng::from_os_rng(),
        };
    }

    /// `n` random bytes as lower-case hex (2n characters).
    pub fn hex(&self, n: usize) -> String {
        let mut bytes = vec![0u8; n];
        self.lock().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A vCenter-style session id: 32 hex characters.
    pub fn session_id(&self) -> String {
        self.hex(16)
    }

    /// A transfer token: 40 hex characters (160 bits).
    pub fn token(&self) -> String {
        self.hex(20)
    }

    /// The random middle of a temporary file or directory name: 6 characters from `[a-zA-Z0-9]`,
    /// like `mkstemp`'s.
    pub fn temp_part(&self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut rng = self.lock();
        (0..6)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect()
    }

    /// A number in `[0, 1)`, for probabilistic fault rules.
    pub fn unit(&self) -> f64 {
        self.lock().random::<f64>()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ChaCha20Rng> {
        self.rng.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let (a, b) = (IdGen::new(Some(42)), IdGen::new(Some(42)));
        assert_eq!(a.token(), b.token());
        assert_eq!(a.temp_part(), b.temp_part());
        assert_eq!(a.session_id().len(), 32);
    }

    #[test]
    fn reset_starts_a_seeded_sequence_again() {
        let ids = IdGen::new(Some(7));
        let first = ids.token();
        ids.reset();
        assert_eq!(ids.token(), first);
    }
}
