//! Deterministic randomness: one ChaCha stream per (seed, day, purpose), so a
//! day's output never depends on how many days one call generates.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// What a stream is for; separate streams keep faults from shifting behaviour.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Behaviour = 1,
    Faults = 2,
    World = 3,
}

#[derive(Debug, Clone)]
pub struct Random(ChaCha8Rng);

impl Random {
    pub fn new(seed: u64, day: i64, stream: Stream) -> Self {
        // SplitMix-style mixing so nearby seeds and days give unrelated streams.
        let mut z = seed
            .wrapping_add((day as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .wrapping_add((stream as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Self(ChaCha8Rng::seed_from_u64(z ^ (z >> 31)))
    }

    pub fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in [0, n); 0 when n is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.u64() % n }
    }

    pub fn range(&mut self, low: i64, high_inclusive: i64) -> i64 {
        low + self.below((high_inclusive - low + 1) as u64) as i64
    }

    pub fn weighted<T: Copy>(&mut self, choices: &[(T, f64)]) -> T {
        let total: f64 = choices.iter().map(|(_, w)| w).sum();
        let mut at = self.unit() * total;
        for (choice, weight) in choices {
            if at < *weight {
                return *choice;
            }
            at -= weight;
        }
        choices[choices.len() - 1].0
    }

    /// A count with the given mean: geometric-ish, cheap, never negative.
    pub fn count(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        let p = 1.0 / (1.0 + mean);
        let mut n = 0;
        while !self.chance(p) && n < 1000 {
            n += 1;
        }
        n
    }

    /// `base` scaled by a factor in [1 - spread, 1 + spread].
    pub fn jitter(&mut self, base: f64, spread: f64) -> f64 {
        base * (1.0 - spread + 2.0 * spread * self.unit())
    }
}
