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
    rng: Mutex<(u64, ChaCha20Rng)>,
}

impl IdGen {
    /// A generator seeded with `seed`, or from the operating system when `None`.
    pub fn new(seed: Option<u64>) -> Self {
        Self {
            seed,
            rng: Mutex::new((0, Self::generator(seed, 0))),
        }
    }

    /// The generator of `epoch`: the seed's ChaCha key with the epoch as its stream, so that
    /// each epoch's sequence is reproducible and shares nothing with any other epoch's.
    fn generator(seed: Option<u64>, epoch: u64) -> ChaCha20Rng {
        match seed {
            Some(s) => {
                let mut rng = ChaCha20Rng::seed_from_u64(s);
                rng.set_stream(epoch);
                rng
            }
            None => ChaCha20Rng::from_os_rng(),
        }
    }

    /// The seed, if one was given.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// Starts the next epoch (a reset of the server): a seeded generator goes on with that
    /// epoch's own sequence, the same in every run, so that no session id, transfer id or token
    /// handed out before the reset is ever handed out again; an unseeded one is reseeded from the
    /// operating system.
    pub fn reset(&self) {
        let mut g = self.lock();
        let epoch = g.0 + 1;
        *g = (epoch, Self::generator(self.seed, epoch));
    }

    /// How many resets this generator has been through.
    pub fn epoch(&self) -> u64 {
        self.lock().0
    }

    /// `n` random bytes as lower-case hex (2n characters).
    pub fn hex(&self, n: usize) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut bytes = vec![0u8; n];
        self.lock().1.fill_bytes(&mut bytes);
        let mut out = String::with_capacity(2 * n);
        for b in bytes {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        out
    }

    /// A vCenter-style session id: 32 hex characters.
    pub fn session_id(&self) -> String {
        self.hex(16)
    }

    /// A transfer token: 40 lower-case hex characters (about 159 bits) that never hold `443`.
    /// Tokens go into `/guestFile` URLs, and Ansible's `vmware_guest_file_operation` replaces
    /// every `443` in a URL with its own port; so after `44` the next digit is drawn from the
    /// other fifteen.
    pub fn token(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        const NOT_3: &[u8; 15] = b"012456789abcdef";
        let mut g = self.lock();
        let mut out = String::with_capacity(40);
        for _ in 0..40 {
            let c = if out.ends_with("44") {
                NOT_3[g.1.random_range(0..NOT_3.len())]
            } else {
                HEX[g.1.random_range(0..HEX.len())]
            };
            out.push(c as char);
        }
        out
    }

    /// The random middle of a temporary file or directory name: 6 characters from `[a-zA-Z0-9]`,
    /// like `mkstemp`'s.
    pub fn temp_part(&self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut g = self.lock();
        (0..6)
            .map(|_| ALPHABET[g.1.random_range(0..ALPHABET.len())] as char)
            .collect()
    }

    /// A number in `[0, 1)`, for probabilistic fault rules.
    pub fn unit(&self) -> f64 {
        self.lock().1.random::<f64>()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, ChaCha20Rng)> {
        self.rng.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_writes_each_random_byte_as_two_lower_case_digits() {
        let (a, b) = (IdGen::new(Some(7)), IdGen::new(Some(7)));
        let mut bytes = vec![0u8; 4096];
        b.lock().1.fill_bytes(&mut bytes);
        let expected: String = bytes.iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(a.hex(4096), expected);
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let (a, b) = (IdGen::new(Some(42)), IdGen::new(Some(42)));
        assert_eq!(a.token(), b.token());
        assert_eq!(a.temp_part(), b.temp_part());
        assert_eq!(a.session_id().len(), 32);
    }

    #[test]
    fn tokens_are_forty_hex_digits_and_never_hold_443() {
        let g = IdGen::new(Some(443));
        let mut after_44 = std::collections::BTreeSet::new();
        for _ in 0..20_000 {
            let t = g.token();
            assert_eq!(t.len(), 40);
            assert!(
                t.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{t}"
            );
            assert!(!t.contains("443"), "{t}");
            for (i, _) in t.match_indices("44") {
                if let Some(c) = t[i + 2..].chars().next() {
                    after_44.insert(c);
                }
            }
        }
        // Every other digit still follows `44`: the rule removes one choice, nothing more.
        assert_eq!(after_44.len(), 15, "{after_44:?}");
    }

    #[test]
    fn a_reset_never_hands_out_an_earlier_epochs_ids_and_each_epoch_is_reproducible() {
        let (a, b) = (IdGen::new(Some(7)), IdGen::new(Some(7)));
        let before: Vec<String> = (0..50).map(|_| a.token()).collect();
        a.reset();
        b.reset();
        let after: Vec<String> = (0..50).map(|_| a.token()).collect();
        assert!(
            after.iter().all(|t| !before.contains(t)),
            "no token comes back"
        );
        assert_eq!(
            (0..50).map(|_| b.token()).collect::<Vec<_>>(),
            after,
            "the same seed gives the same epoch 1 in every run"
        );
        assert_eq!(a.epoch(), 1);
    }
}
