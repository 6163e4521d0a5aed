//! The readiness table's hash (see [`NumberHash`]).

/// Hashes the table's keys, which are descriptor numbers of ours (held duplicates), not input an
/// adversary picks: one multiplication by an odd constant instead of the standard library's
/// SipHash, which cost about 90 instructions a lookup, and a ping-pong's read looks its number
/// up four times per wait (parked, claimed, then found and removed). The map takes its bucket
/// from the low bits of the hash, a bijection of the number's low bits (the constant is odd), so
/// numbers that differ below the table's size never share a bucket; its control byte from the
/// top 7 bits, which the multiplication mixes from all of them.
#[derive(Default, Clone, Copy)]
pub(super) struct NumberHash;

impl core::hash::BuildHasher for NumberHash {
    type Hasher = NumberHasher;
    fn build_hasher(&self) -> NumberHasher {
        NumberHasher(0)
    }
}

/// The hasher of [`NumberHash`].
pub(super) struct NumberHasher(u64);

/// 2^64 divided by the golden ratio, made odd: spreads consecutive numbers over the top bits.
const SPREAD: u64 = 0x9e37_79b9_7f4a_7c15;

impl core::hash::Hasher for NumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(SPREAD);
        }
    }
    fn write_i32(&mut self, n: i32) {
        self.0 = (self.0 ^ u64::from(n as u32)).wrapping_mul(SPREAD);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::hash::BuildHasher;

    /// Numbers that differ in their low bits land in different buckets of a small table, and
    /// their control bytes (top 7 bits) are not all alike.
    #[test]
    fn spreads_numbers() {
        let h: Vec<u64> = (256..320).map(|n: i32| NumberHash.hash_one(n)).collect();
        let mut low: Vec<u64> = h.iter().map(|x| x & 63).collect();
        low.sort_unstable();
        low.dedup();
        assert_eq!(low.len(), 64);
        let mut top: Vec<u64> = h.iter().map(|x| x >> 57).collect();
        top.sort_unstable();
        top.dedup();
        assert!(top.len() > 32, "{} control bytes", top.len());
    }
}
