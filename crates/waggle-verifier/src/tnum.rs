//! Tracked numbers: what is known about each bit of a 64-bit value.
//!
//! A bit whose `mask` bit is 0 is known and equal to the `value` bit; a bit
//! whose `mask` bit is set is unknown (its `value` bit is kept 0). Every
//! operation returns a tnum containing every result of the operation on
//! values contained in its operands (the idea of Linux's `tnum.c`).

use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tnum {
    pub value: u64,
    pub mask: u64,
}

impl fmt::Debug for Tnum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:#x}; {:#x})", self.value, self.mask)
    }
}

const LOW32: u64 = 0xffff_ffff;

impl Tnum {
    pub const UNKNOWN: Tnum = Tnum {
        value: 0,
        mask: u64::MAX,
    };

    pub const fn constant(value: u64) -> Tnum {
        Tnum { value, mask: 0 }
    }

    /// The smallest tnum holding every value of `min..=max`.
    pub fn range(min: u64, max: u64) -> Tnum {
        let chi = min ^ max;
        let bits = 64 - chi.leading_zeros();
        if bits >= 64 {
            return Tnum::UNKNOWN;
        }
        let delta = (1u64 << bits) - 1;
        Tnum {
            value: min & !delta,
            mask: delta,
        }
    }

    pub fn is_const(self) -> bool {
        self.mask == 0
    }

    /// The smallest and largest unsigned values.
    pub fn umin(self) -> u64 {
        self.value
    }

    pub fn umax(self) -> u64 {
        self.value | self.mask
    }

    /// The smallest and largest signed values.
    #[cfg(test)]
    pub fn smin(self) -> i64 {
        (self.value | (self.mask & (1 << 63))) as i64
    }

    #[cfg(test)]
    pub fn smax(self) -> i64 {
        (self.value | (self.mask & !(1 << 63))) as i64
    }

    #[cfg(test)]
    pub fn contains_value(self, v: u64) -> bool {
        v & !self.mask == self.value
    }

    /// Whether every value of `other` is a value of `self`.
    pub fn contains(self, other: Tnum) -> bool {
        if other.mask & !self.mask != 0 {
            return false;
        }
        other.value & !self.mask == self.value
    }

    pub fn shl(self, k: u32) -> Tnum {
        Tnum {
            value: self.value.wrapping_shl(k),
            mask: self.mask.wrapping_shl(k),
        }
    }

    pub fn shr(self, k: u32) -> Tnum {
        Tnum {
            value: self.value.wrapping_shr(k),
            mask: self.mask.wrapping_shr(k),
        }
    }

    /// Arithmetic right shift of a 64-bit value.
    pub fn sar(self, k: u32) -> Tnum {
        Tnum {
            value: ((self.value as i64) >> k) as u64,
            mask: ((self.mask as i64) >> k) as u64,
        }
    }

    /// Arithmetic right shift of the low 32 bits, zero-extended.
    pub fn sar32(self, k: u32) -> Tnum {
        Tnum {
            value: ((self.value as i32) >> k) as u32 as u64,
            mask: ((self.mask as i32) >> k) as u32 as u64,
        }
    }

    pub fn add(self, b: Tnum) -> Tnum {
        let sm = self.mask.wrapping_add(b.mask);
        let sv = self.value.wrapping_add(b.value);
        let sigma = sm.wrapping_add(sv);
        let chi = sigma ^ sv;
        let mu = chi | self.mask | b.mask;
        Tnum {
            value: sv & !mu,
            mask: mu,
        }
    }

    pub fn sub(self, b: Tnum) -> Tnum {
        let dv = self.value.wrapping_sub(b.value);
        let alpha = dv.wrapping_add(self.mask);
        let beta = dv.wrapping_sub(b.mask);
        let chi = alpha ^ beta;
        let mu = chi | self.mask | b.mask;
        Tnum {
            value: dv & !mu,
            mask: mu,
        }
    }

    pub fn and(self, b: Tnum) -> Tnum {
        let alpha = self.value | self.mask;
        let beta = b.value | b.mask;
        let v = self.value & b.value;
        Tnum {
            value: v,
            mask: alpha & beta & !v,
        }
    }

    pub fn or(self, b: Tnum) -> Tnum {
        let v = self.value | b.value;
        let mu = self.mask | b.mask;
        Tnum {
            value: v,
            mask: mu & !v,
        }
    }

    pub fn xor(self, b: Tnum) -> Tnum {
        let v = self.value ^ b.value;
        let mu = self.mask | b.mask;
        Tnum {
            value: v & !mu,
            mask: mu,
        }
    }

    pub fn mul(self, b: Tnum) -> Tnum {
        // Long multiplication: the known product plus, for each bit that may
        // be set in one operand, the other operand's possible bits shifted.
        let mut acc = Tnum::constant(self.value.wrapping_mul(b.value));
        let mut add_unknown = |mut value: u64, mut mask: u64| {
            while mask != 0 {
                if mask & 1 != 0 {
                    acc = acc.add(Tnum {
                        value: 0,
                        mask: value,
                    });
                }
                mask >>= 1;
                value <<= 1;
            }
        };
        add_unknown(self.mask, b.mask | b.value);
        add_unknown(b.mask, self.value);
        acc
    }

    /// The values in both `self` and `b`, or `None` when they share none.
    pub fn intersect(self, b: Tnum) -> Option<Tnum> {
        let known_both = !self.mask & !b.mask;
        if (self.value ^ b.value) & known_both != 0 {
            return None;
        }
        let mu = self.mask & b.mask;
        Some(Tnum {
            value: (self.value | b.value) & !mu,
            mask: mu,
        })
    }

    /// The low `bytes` bytes, zero-extended.
    pub fn cast(self, bytes: usize) -> Tnum {
        if bytes >= 8 {
            return self;
        }
        let m = (1u64 << (bytes * 8)) - 1;
        Tnum {
            value: self.value & m,
            mask: self.mask & m,
        }
    }

    /// The low `bits` bits, sign-extended to 64 bits.
    pub fn sext(self, bits: u32) -> Tnum {
        let sh = 64 - bits;
        Tnum {
            value: (((self.value << sh) as i64) >> sh) as u64,
            mask: (((self.mask << sh) as i64) >> sh) as u64,
        }
        .normalise()
    }

    /// Clears value bits under the mask (after shifts that smear the mask's
    /// sign bit).
    fn normalise(self) -> Tnum {
        Tnum {
            value: self.value & !self.mask,
            mask: self.mask,
        }
    }

    pub fn subreg(self) -> Tnum {
        self.cast(4)
    }

    pub fn clear_subreg(self) -> Tnum {
        Tnum {
            value: self.value & !LOW32,
            mask: self.mask & !LOW32,
        }
    }

    /// `self` with its low 32 bits replaced by those of `sub`.
    pub fn with_subreg(self, sub: Tnum) -> Tnum {
        self.clear_subreg().or(sub.subreg())
    }

    /// Whether every value is a multiple of `size` (a power of two).
    pub fn is_aligned(self, size: u64) -> bool {
        size == 0 || (self.value | self.mask) & (size - 1) == 0
    }

    /// Byte swap of the low `bits` bits (16, 32 or 64), zero-extended.
    pub fn bswap(self, bits: u8) -> Tnum {
        match bits {
            16 => Tnum {
                value: (self.value as u16).swap_bytes() as u64,
                mask: (self.mask as u16).swap_bytes() as u64,
            },
            32 => Tnum {
                value: (self.value as u32).swap_bytes() as u64,
                mask: (self.mask as u32).swap_bytes() as u64,
            },
            _ => Tnum {
                value: self.value.swap_bytes(),
                mask: self.mask.swap_bytes(),
            },
        }
    }
}

impl fmt::Display for Tnum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_const() {
            write!(f, "{:#x}", self.value)
        } else {
            write!(f, "({:#x}; {:#x})", self.value, self.mask)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value a tnum of at most `n` unknown bits holds.
    fn members(t: Tnum) -> Vec<u64> {
        let bits: Vec<u32> = (0..64).filter(|b| t.mask >> b & 1 != 0).collect();
        assert!(bits.len() <= 8);
        (0..1u64 << bits.len())
            .map(|i| {
                let mut v = t.value;
                for (j, b) in bits.iter().enumerate() {
                    if i >> j & 1 != 0 {
                        v |= 1 << b;
                    }
                }
                v
            })
            .collect()
    }

    fn samples() -> Vec<Tnum> {
        let mut out = vec![];
        for value in [0u64, 1, 5, 0x10, 0xff00, u64::MAX - 7, 1 << 63] {
            for mask in [0u64, 1, 6, 0x30, 0x8001, 3 << 62] {
                out.push(Tnum {
                    value: value & !mask,
                    mask,
                });
            }
        }
        out
    }

    #[test]
    fn binary_ops_contain_every_result() {
        type Op = (fn(Tnum, Tnum) -> Tnum, fn(u64, u64) -> u64);
        let ops: [Op; 6] = [
            (Tnum::add, u64::wrapping_add),
            (Tnum::sub, u64::wrapping_sub),
            (Tnum::and, |a, b| a & b),
            (Tnum::or, |a, b| a | b),
            (Tnum::xor, |a, b| a ^ b),
            (Tnum::mul, u64::wrapping_mul),
        ];
        for a in samples() {
            for b in samples() {
                for (t, f) in ops {
                    let r = t(a, b);
                    for x in members(a) {
                        for y in members(b) {
                            assert!(r.contains_value(f(x, y)), "{a:?} {b:?} {r:?} {x} {y}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn unary_ops_contain_every_result() {
        for a in samples() {
            for x in members(a) {
                for k in [0, 1, 7, 31, 63] {
                    assert!(a.shl(k).contains_value(x << k));
                    assert!(a.shr(k).contains_value(x >> k));
                    assert!(a.sar(k).contains_value(((x as i64) >> k) as u64));
                }
                assert!(a.sar32(3).contains_value(((x as i32) >> 3) as u32 as u64));
                assert!(a.sext(8).contains_value(x as i8 as i64 as u64));
                assert!(a.sext(32).contains_value(x as i32 as i64 as u64));
                assert!(a.bswap(16).contains_value((x as u16).swap_bytes() as u64));
                assert!(a.cast(2).contains_value(x as u16 as u64));
                assert!(a.umin() <= x && x <= a.umax());
                assert!(a.smin() <= x as i64 && x as i64 <= a.smax());
            }
        }
    }

    #[test]
    fn range_and_intersect() {
        for (lo, hi) in [(0u64, 0), (3, 9), (16, 31), (1, u64::MAX)] {
            let t = Tnum::range(lo, hi);
            assert!(t.contains_value(lo) && t.contains_value(hi));
        }
        let a = Tnum { value: 4, mask: 3 };
        let b = Tnum { value: 1, mask: 4 };
        assert_eq!(a.intersect(b), Some(Tnum { value: 5, mask: 0 }));
        assert_eq!(Tnum::constant(1).intersect(Tnum::constant(2)), None);
    }
}
