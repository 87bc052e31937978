//! Scalars: the set of values a register may hold, as a tnum and four
//! intervals (unsigned and signed, of the full 64 bits and of the low 32),
//! kept consistent with each other as Linux's `reg_bounds_sync` does.
//!
//! Every operation over-approximates: the result contains every concrete
//! result of the operation on concrete members of the operands. Refinement
//! by a branch condition may find the set empty, which proves the branch
//! cannot be taken.

use crate::tnum::Tnum;
use waggle_isa::{AluOp, EndianOp, JmpCond, Width};

/// An interval pair of one width: unsigned and signed. For 32 bits the values
/// are kept in `u64`/`i64` but stay within `u32` and `i32`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Bounds {
    pub umin: u64,
    pub umax: u64,
    pub smin: i64,
    pub smax: i64,
}

const fn umax_of(bits: u32) -> u64 {
    if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

const fn smin_of(bits: u32) -> i64 {
    if bits == 64 {
        i64::MIN
    } else {
        -(1i64 << (bits - 1))
    }
}

const fn smax_of(bits: u32) -> i64 {
    if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    }
}

/// The signed reading of the low `bits` bits of `v`.
fn signed(v: u64, bits: u32) -> i64 {
    if bits == 64 {
        v as i64
    } else {
        ((v << (64 - bits)) as i64) >> (64 - bits)
    }
}

/// The unsigned reading of signed value `v` at width `bits`.
fn unsigned(v: i64, bits: u32) -> u64 {
    (v as u64) & umax_of(bits)
}

/// `[lo, hi]` computed without overflow, reduced to an unsigned interval of
/// width `bits`, or `None` when the reduction wraps (any value possible).
fn wrap_u(lo: i128, hi: i128, bits: u32) -> Option<(u64, u64)> {
    let m = 1i128 << bits;
    if hi - lo >= m {
        return None;
    }
    let (l, h) = (lo.rem_euclid(m), hi.rem_euclid(m));
    (l <= h).then_some((l as u64, h as u64))
}

/// As [`wrap_u`] for a signed interval.
fn wrap_s(lo: i128, hi: i128, bits: u32) -> Option<(i64, i64)> {
    let half = 1i128 << (bits - 1);
    wrap_u(lo + half, hi + half, bits)
        .map(|(l, h)| ((l as i128 - half) as i64, (h as i128 - half) as i64))
}

impl Bounds {
    pub const fn full(bits: u32) -> Bounds {
        Bounds {
            umin: 0,
            umax: umax_of(bits),
            smin: smin_of(bits),
            smax: smax_of(bits),
        }
    }

    pub fn constant(v: u64, bits: u32) -> Bounds {
        let u = v & umax_of(bits);
        let s = signed(u, bits);
        Bounds {
            umin: u,
            umax: u,
            smin: s,
            smax: s,
        }
    }

    fn from_u(lo: u64, hi: u64, bits: u32) -> Bounds {
        Bounds {
            umin: lo,
            umax: hi,
            ..Bounds::full(bits)
        }
    }

    fn from_s(lo: i64, hi: i64, bits: u32) -> Bounds {
        Bounds {
            smin: lo,
            smax: hi,
            ..Bounds::full(bits)
        }
    }

    fn is_empty(&self) -> bool {
        self.umin > self.umax || self.smin > self.smax
    }

    fn meet(&mut self, o: &Bounds) {
        self.umin = self.umin.max(o.umin);
        self.umax = self.umax.min(o.umax);
        self.smin = self.smin.max(o.smin);
        self.smax = self.smax.min(o.smax);
    }

    fn contains(&self, o: &Bounds) -> bool {
        self.umin <= o.umin && o.umax <= self.umax && self.smin <= o.smin && o.smax <= self.smax
    }

    /// Tightens each interval from the other where their orders agree.
    fn deduce(&mut self, bits: u32) {
        // An unsigned range on one side of the sign boundary is a signed range.
        if signed(self.umin, bits) <= signed(self.umax, bits) {
            self.smin = self.smin.max(signed(self.umin, bits));
            self.smax = self.smax.min(signed(self.umax, bits));
        }
        // A signed range of one sign is an unsigned range.
        if unsigned(self.smin, bits) <= unsigned(self.smax, bits) {
            self.umin = self.umin.max(unsigned(self.smin, bits));
            self.umax = self.umax.min(unsigned(self.smax, bits));
        }
    }

    /// Bounds implied by the bits of `t` (already truncated to `bits`).
    fn from_tnum(t: Tnum, bits: u32) -> Bounds {
        let sign = 1u64 << (bits - 1);
        Bounds {
            umin: t.value,
            umax: t.value | t.mask,
            smin: signed(t.value | (t.mask & sign), bits),
            smax: signed(t.value | (t.mask & !sign & umax_of(bits)), bits),
        }
    }

    fn tnum(&self, bits: u32) -> Option<Tnum> {
        let mut t = Tnum::range(self.umin, self.umax);
        if (self.smin < 0) == (self.smax < 0) {
            t = t.intersect(Tnum::range(
                unsigned(self.smin, bits),
                unsigned(self.smax, bits),
            ))?;
        }
        Some(t)
    }

    fn add(a: &Bounds, b: &Bounds, bits: u32) -> Bounds {
        let mut r = Bounds::full(bits);
        if let Some((l, h)) = wrap_u(
            a.umin as i128 + b.umin as i128,
            a.umax as i128 + b.umax as i128,
            bits,
        ) {
            (r.umin, r.umax) = (l, h);
        }
        if let Some((l, h)) = wrap_s(
            a.smin as i128 + b.smin as i128,
            a.smax as i128 + b.smax as i128,
            bits,
        ) {
            (r.smin, r.smax) = (l, h);
        }
        r
    }

    fn sub(a: &Bounds, b: &Bounds, bits: u32) -> Bounds {
        let mut r = Bounds::full(bits);
        if let Some((l, h)) = wrap_u(
            a.umin as i128 - b.umax as i128,
            a.umax as i128 - b.umin as i128,
            bits,
        ) {
            (r.umin, r.umax) = (l, h);
        }
        if let Some((l, h)) = wrap_s(
            a.smin as i128 - b.smax as i128,
            a.smax as i128 - b.smin as i128,
            bits,
        ) {
            (r.smin, r.smax) = (l, h);
        }
        r
    }

    fn mul(a: &Bounds, b: &Bounds, bits: u32) -> Bounds {
        let mut r = Bounds::full(bits);
        let hi = (a.umax as u128) * (b.umax as u128);
        if hi <= umax_of(bits) as u128 {
            (r.umin, r.umax) = (a.umin * b.umin, hi as u64);
        }
        let corners = [
            a.smin as i128 * b.smin as i128,
            a.smin as i128 * b.smax as i128,
            a.smax as i128 * b.smin as i128,
            a.smax as i128 * b.smax as i128,
        ];
        let (lo, hi) = (corners.iter().min().unwrap(), corners.iter().max().unwrap());
        if *lo >= smin_of(bits) as i128 && *hi <= smax_of(bits) as i128 {
            (r.smin, r.smax) = (*lo as i64, *hi as i64);
        }
        r
    }
}

/// A set of 64-bit values.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Scalar {
    pub var: Tnum,
    pub b64: Bounds,
    pub b32: Bounds,
}

const LOW32: u64 = 0xffff_ffff;

impl Scalar {
    pub const UNKNOWN: Scalar = Scalar {
        var: Tnum::UNKNOWN,
        b64: Bounds::full(64),
        b32: Bounds::full(32),
    };

    pub fn constant(v: u64) -> Scalar {
        Scalar {
            var: Tnum::constant(v),
            b64: Bounds::constant(v, 64),
            b32: Bounds::constant(v, 32),
        }
    }

    /// Any value of `bytes` bytes, zero-extended.
    pub fn unsigned_bytes(bytes: usize) -> Scalar {
        if bytes >= 8 {
            return Scalar::UNKNOWN;
        }
        Scalar::from_tnum(Tnum::range(0, umax_of(bytes as u32 * 8)))
    }

    /// Any value of `bytes` bytes, sign-extended.
    #[cfg(test)]
    pub fn signed_bytes(bytes: usize) -> Scalar {
        let bits = bytes as u32 * 8;
        let mut s = Scalar::UNKNOWN;
        s.b64.smin = smin_of(bits);
        s.b64.smax = smax_of(bits);
        s.normalised()
    }

    pub fn from_tnum(t: Tnum) -> Scalar {
        let mut s = Scalar {
            var: t,
            ..Scalar::UNKNOWN
        };
        s.sync();
        s
    }

    /// Unsigned 64-bit interval.
    #[cfg(test)]
    pub fn urange(lo: u64, hi: u64) -> Scalar {
        let mut s = Scalar::UNKNOWN;
        s.b64 = Bounds::from_u(lo, hi, 64);
        s.normalised()
    }

    fn normalised(mut self) -> Scalar {
        self.sync();
        self
    }

    pub fn is_const(&self) -> bool {
        self.var.is_const()
    }

    pub fn const_value(&self) -> Option<u64> {
        self.var.is_const().then_some(self.var.value)
    }

    pub fn is_zero(&self) -> bool {
        self.const_value() == Some(0)
    }

    /// The smallest scalar holding every value of `self` and of `other`.
    pub fn union(&self, other: &Scalar) -> Scalar {
        let mask = self.var.mask | other.var.mask | (self.var.value ^ other.var.value);
        let hull = |a: &Bounds, b: &Bounds| Bounds {
            umin: a.umin.min(b.umin),
            umax: a.umax.max(b.umax),
            smin: a.smin.min(b.smin),
            smax: a.smax.max(b.smax),
        };
        let mut s = Scalar {
            var: Tnum {
                value: self.var.value & !mask,
                mask,
            },
            b64: hull(&self.b64, &other.b64),
            b32: hull(&self.b32, &other.b32),
        };
        s.sync();
        s
    }

    /// Whether every value of `other` is a value of `self`.
    pub fn contains(&self, other: &Scalar) -> bool {
        self.b64.contains(&other.b64)
            && self.b32.contains(&other.b32)
            && self.var.contains(other.var)
    }

    /// Whether the values fit in `bits` unsigned bits.
    pub fn fits_unsigned(&self, bits: u32) -> bool {
        self.b64.umax <= umax_of(bits)
    }

    /// Makes the tnum and the four intervals agree; returns `false` if they
    /// admit no value.
    pub fn sync(&mut self) -> bool {
        for round in 0..2 {
            // A second round only when the first changed something: from a
            // state it leaves unchanged, it would change nothing either.
            let before = *self;
            // Bits to intervals.
            self.b64.meet(&Bounds::from_tnum(self.var, 64));
            self.b32.meet(&Bounds::from_tnum(self.var.subreg(), 32));
            if self.b64.is_empty() || self.b32.is_empty() {
                return false;
            }
            self.b32.deduce(32);
            self.b64.deduce(64);
            // 64 bits to 32: when the upper halves of the bounds agree, the
            // low halves move monotonically between them.
            if self.b64.umin >> 32 == self.b64.umax >> 32 {
                let hi = self.b64.umin & !LOW32;
                self.b32.umin = self.b32.umin.max(self.b64.umin & LOW32);
                self.b32.umax = self.b32.umax.min(self.b64.umax & LOW32);
                // And back: the value is the fixed upper half with the low one.
                self.b64.umin = self.b64.umin.max(hi | self.b32.umin);
                self.b64.umax = self.b64.umax.min(hi | self.b32.umax);
            }
            if self.b64.smin >> 32 == self.b64.smax >> 32 {
                let hi = (self.b64.smin as u64) & !LOW32;
                self.b32.umin = self.b32.umin.max(self.b64.smin as u64 & LOW32);
                self.b32.umax = self.b32.umax.min(self.b64.smax as u64 & LOW32);
                self.b64.smin = self.b64.smin.max((hi | self.b32.umin) as i64);
                self.b64.smax = self.b64.smax.min((hi | self.b32.umax) as i64);
            }
            // A value within i32 is the sign extension of its low half.
            if self.b64.smin >= i32::MIN as i64 && self.b64.smax <= i32::MAX as i64 {
                self.b64.smin = self.b64.smin.max(self.b32.smin);
                self.b64.smax = self.b64.smax.min(self.b32.smax);
                self.b32.smin = self.b32.smin.max(self.b64.smin);
                self.b32.smax = self.b32.smax.min(self.b64.smax);
            }
            if self.b64.is_empty() || self.b32.is_empty() {
                return false;
            }
            self.b32.deduce(32);
            self.b64.deduce(64);
            if self.b64.is_empty() || self.b32.is_empty() {
                return false;
            }
            // Intervals to bits.
            let Some(t64) = self.b64.tnum(64) else {
                return false;
            };
            let Some(v) = self.var.intersect(t64) else {
                return false;
            };
            let Some(t32) = self.b32.tnum(32) else {
                return false;
            };
            let Some(sub) = v.subreg().intersect(t32) else {
                return false;
            };
            self.var = v.with_subreg(sub);
            if round == 0 && *self == before {
                return true;
            }
        }
        self.b64.meet(&Bounds::from_tnum(self.var, 64));
        self.b32.meet(&Bounds::from_tnum(self.var.subreg(), 32));
        !(self.b64.is_empty() || self.b32.is_empty())
    }

    /// Zero-extension of the low 32 bits (the result of every ALU32 op).
    pub fn zext32(&self) -> Scalar {
        let mut s = Scalar {
            var: self.var.subreg(),
            b64: Bounds::from_u(self.b32.umin, self.b32.umax, 64),
            b32: self.b32,
        };
        s.sync();
        s
    }

    /// The low `bytes` bytes, zero-extended (a narrow load of a value).
    pub fn truncate(&self, bytes: usize) -> Scalar {
        if bytes >= 8 {
            return *self;
        }
        if bytes == 4 {
            return self.zext32();
        }
        if self.b64.umax <= umax_of(bytes as u32 * 8) {
            return *self;
        }
        Scalar::from_tnum(self.var.cast(bytes))
    }

    /// The low `bits` bits sign-extended to 64 bits.
    pub fn sext(&self, bits: u32) -> Scalar {
        if bits == 32 {
            let mut s = Scalar::from_tnum(self.var.sext(32));
            s.b64.smin = s.b64.smin.max(self.b32.smin);
            s.b64.smax = s.b64.smax.min(self.b32.smax);
            return s.normalised();
        }
        // Values already within the positive range of `bits` are unchanged.
        if self.b64.umax <= smax_of(bits) as u64 {
            return *self;
        }
        Scalar::from_tnum(self.var.sext(bits))
    }

    fn bounds(&self, bits: u32) -> Bounds {
        if bits == 64 {
            self.b64
        } else {
            self.b32
        }
    }

    fn tn(&self, bits: u32) -> Tnum {
        if bits == 64 {
            self.var
        } else {
            self.var.subreg()
        }
    }

    /// Builds a result of width `bits` from its tnum and intervals; for 32
    /// bits the result is zero-extended.
    fn result(var: Tnum, b: Bounds, b32: Option<Bounds>, bits: u32) -> Scalar {
        let mut s = if bits == 64 {
            Scalar {
                var,
                b64: b,
                b32: b32.unwrap_or(Bounds::full(32)),
            }
        } else {
            Scalar {
                var: var.subreg(),
                b64: Bounds::from_u(0, LOW32, 64),
                b32: b,
            }
        };
        if !s.sync() {
            // Cannot happen for sound inputs; stay sound regardless.
            return if bits == 64 {
                Scalar::UNKNOWN
            } else {
                Scalar::unsigned_bytes(4)
            };
        }
        s
    }

    /// `self op other` at `width`, for operations whose second operand is a
    /// scalar. Shifts and divisions follow the interpreter: shift amounts
    /// are masked, division by zero gives zero, modulo by zero keeps the
    /// dividend.
    pub fn alu(&self, op: AluOp, other: &Scalar, width: Width) -> Scalar {
        let bits = match width {
            Width::W64 => 64,
            Width::W32 => 32,
        };
        let (a, b) = (self, other);
        if let (Some(x), Some(y)) = (a.const_value(), b.const_value()) {
            return Scalar::constant(eval_alu(op, x, y, width));
        }
        let (ta, tb) = (a.tn(bits), b.tn(bits));
        let (ba, bb) = (a.bounds(bits), b.bounds(bits));
        // The low 32 bits of these depend only on the operands' low 32 bits.
        let low32 =
            |f: fn(&Bounds, &Bounds, u32) -> Bounds| (bits == 64).then(|| f(&a.b32, &b.b32, 32));
        match op {
            AluOp::Mov => {
                if bits == 64 {
                    *b
                } else {
                    b.zext32()
                }
            }
            AluOp::Add => Scalar::result(
                ta.add(tb),
                Bounds::add(&ba, &bb, bits),
                low32(Bounds::add),
                bits,
            ),
            AluOp::Sub => Scalar::result(
                ta.sub(tb),
                Bounds::sub(&ba, &bb, bits),
                low32(Bounds::sub),
                bits,
            ),
            AluOp::Mul => Scalar::result(
                ta.mul(tb),
                Bounds::mul(&ba, &bb, bits),
                low32(Bounds::mul),
                bits,
            ),
            AluOp::And => {
                let t = ta.and(tb);
                let r = Bounds::from_u(t.umin(), ba.umax.min(bb.umax), bits);
                Scalar::result(t, r, None, bits)
            }
            AluOp::Or => {
                let t = ta.or(tb);
                let r = Bounds::from_u(ba.umin.max(bb.umin), t.umax(), bits);
                Scalar::result(t, r, None, bits)
            }
            AluOp::Xor => Scalar::result(ta.xor(tb), Bounds::full(bits), None, bits),
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => {
                if bb.umax >= bits as u64 {
                    // The interpreter masks the amount; the verifier does not
                    // follow values through that.
                    return Scalar::result(Tnum::UNKNOWN, Bounds::full(bits), None, bits);
                }
                let (k0, k1) = (bb.umin as u32, bb.umax as u32);
                shift(op, &ba, ta, k0, k1, bits)
            }
            AluOp::Div => {
                let r = match (ba.umax.checked_div(bb.umin), ba.umin.checked_div(bb.umax)) {
                    (Some(hi), Some(lo)) => Bounds::from_u(lo, hi, bits),
                    // The divisor may be 0, which gives 0; x / y <= x.
                    (None, Some(_)) => Bounds::from_u(0, ba.umax, bits),
                    // The divisor is 0.
                    _ => Bounds::constant(0, bits),
                };
                Scalar::result(Tnum::UNKNOWN, r, None, bits)
            }
            AluOp::Mod => {
                if bb.umax == 0 {
                    return if bits == 64 { *a } else { a.zext32() };
                }
                if bb.umin > ba.umax {
                    return if bits == 64 { *a } else { a.zext32() };
                }
                let hi = if bb.umin == 0 {
                    ba.umax
                } else {
                    ba.umax.min(bb.umax - 1)
                };
                Scalar::result(Tnum::UNKNOWN, Bounds::from_u(0, hi, bits), None, bits)
            }
            AluOp::Sdiv | AluOp::Smod => {
                Scalar::result(Tnum::UNKNOWN, Bounds::full(bits), None, bits)
            }
            AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32 => {
                let from = match op {
                    AluOp::MovSx8 => 8,
                    AluOp::MovSx16 => 16,
                    _ => 32,
                };
                let s = b.sext(from);
                if bits == 64 {
                    s
                } else {
                    s.zext32()
                }
            }
        }
    }

    pub fn neg(&self, width: Width) -> Scalar {
        Scalar::constant(0).alu(AluOp::Sub, self, width)
    }

    pub fn endian(&self, op: EndianOp, bits: u8) -> Scalar {
        if let Some(v) = self.const_value() {
            return Scalar::constant(eval_endian(op, bits, v));
        }
        match op {
            EndianOp::ToLe => self.truncate(bits as usize / 8),
            EndianOp::ToBe | EndianOp::Swap => Scalar::from_tnum(self.var.bswap(bits)),
        }
    }
}

fn shift(op: AluOp, ba: &Bounds, ta: Tnum, k0: u32, k1: u32, bits: u32) -> Scalar {
    let konst = k0 == k1;
    match op {
        AluOp::Lsh => {
            let t = if konst {
                ta.shl(k0)
            } else {
                Tnum::UNKNOWN.shl(k0)
            };
            let mut r = Bounds::full(bits);
            if (ba.umax as u128) << k1 <= umax_of(bits) as u128 {
                (r.umin, r.umax) = (ba.umin << k0, ba.umax << k1);
            }
            if konst
                && (ba.smin as i128) << k0 >= smin_of(bits) as i128
                && (ba.smax as i128) << k0 <= smax_of(bits) as i128
            {
                (r.smin, r.smax) = (ba.smin << k0, ba.smax << k0);
            }
            let t = if bits == 32 { t.subreg() } else { t };
            Scalar::result(t, r, None, bits)
        }
        AluOp::Rsh => {
            let t = if konst {
                ta.shr(k0)
            } else {
                Tnum::UNKNOWN.cast((bits / 8) as usize).shr(k0)
            };
            let r = Bounds::from_u(ba.umin >> k1, ba.umax >> k0, bits);
            Scalar::result(t, r, None, bits)
        }
        _ => {
            let t = match (konst, bits) {
                (true, 64) => ta.sar(k0),
                (true, _) => ta.sar32(k0),
                _ => Tnum::UNKNOWN,
            };
            let lo = if ba.smin < 0 {
                ba.smin >> k0
            } else {
                ba.smin >> k1
            };
            let hi = if ba.smax >= 0 {
                ba.smax >> k0
            } else {
                ba.smax >> k1
            };
            Scalar::result(t, Bounds::from_s(lo, hi, bits), None, bits)
        }
    }
}

/// The interpreter's result of a binary ALU operation on constants.
pub fn eval_alu(op: AluOp, a: u64, b: u64, width: Width) -> u64 {
    match width {
        Width::W64 => match op {
            AluOp::Add => a.wrapping_add(b),
            AluOp::Sub => a.wrapping_sub(b),
            AluOp::Mul => a.wrapping_mul(b),
            AluOp::Div => a.checked_div(b).unwrap_or(0),
            AluOp::Sdiv => {
                if b == 0 {
                    0
                } else {
                    (a as i64).wrapping_div(b as i64) as u64
                }
            }
            AluOp::Or => a | b,
            AluOp::And => a & b,
            AluOp::Lsh => a.wrapping_shl(b as u32),
            AluOp::Rsh => a.wrapping_shr(b as u32),
            AluOp::Mod => a.checked_rem(b).unwrap_or(a),
            AluOp::Smod => {
                if b == 0 {
                    a
                } else {
                    (a as i64).wrapping_rem(b as i64) as u64
                }
            }
            AluOp::Xor => a ^ b,
            AluOp::Mov => b,
            AluOp::MovSx8 => b as i8 as i64 as u64,
            AluOp::MovSx16 => b as i16 as i64 as u64,
            AluOp::MovSx32 => b as i32 as i64 as u64,
            AluOp::Arsh => (a as i64).wrapping_shr(b as u32) as u64,
        },
        Width::W32 => {
            let (x, y) = (a as u32, b as u32);
            (match op {
                AluOp::Add => x.wrapping_add(y),
                AluOp::Sub => x.wrapping_sub(y),
                AluOp::Mul => x.wrapping_mul(y),
                AluOp::Div => x.checked_div(y).unwrap_or(0),
                AluOp::Sdiv => {
                    if y == 0 {
                        0
                    } else {
                        (x as i32).wrapping_div(y as i32) as u32
                    }
                }
                AluOp::Or => x | y,
                AluOp::And => x & y,
                AluOp::Lsh => x.wrapping_shl(y),
                AluOp::Rsh => x.wrapping_shr(y),
                AluOp::Mod => x.checked_rem(y).unwrap_or(x),
                AluOp::Smod => {
                    if y == 0 {
                        x
                    } else {
                        (x as i32).wrapping_rem(y as i32) as u32
                    }
                }
                AluOp::Xor => x ^ y,
                AluOp::Mov => y,
                AluOp::MovSx8 => y as i8 as i32 as u32,
                AluOp::MovSx16 => y as i16 as i32 as u32,
                AluOp::MovSx32 => y,
                AluOp::Arsh => (x as i32).wrapping_shr(y) as u32,
            }) as u64
        }
    }
}

pub fn eval_endian(op: EndianOp, bits: u8, v: u64) -> u64 {
    match (op, bits) {
        (EndianOp::ToLe, 16) => v as u16 as u64,
        (EndianOp::ToLe, 32) => v as u32 as u64,
        (EndianOp::ToLe, _) => v,
        (_, 16) => (v as u16).swap_bytes() as u64,
        (_, 32) => (v as u32).swap_bytes() as u64,
        _ => v.swap_bytes(),
    }
}

/// The condition that holds when `cond` does not.
pub fn negate(cond: JmpCond) -> Option<JmpCond> {
    use JmpCond::*;
    Some(match cond {
        Eq => Ne,
        Ne => Eq,
        Gt => Le,
        Le => Gt,
        Ge => Lt,
        Lt => Ge,
        Sgt => Sle,
        Sle => Sgt,
        Sge => Slt,
        Slt => Sge,
        Set => return None,
    })
}

/// Refines `a` and `b` by the fact that `a cond b` holds (`holds`) or does
/// not, comparing `width` bits. Returns `None` when no values satisfy it.
pub fn refine(
    cond: JmpCond,
    holds: bool,
    a: &Scalar,
    b: &Scalar,
    width: Width,
) -> Option<(Scalar, Scalar)> {
    let bits = match width {
        Width::W64 => 64,
        Width::W32 => 32,
    };
    let (mut a, mut b) = (*a, *b);
    let cond = if holds {
        cond
    } else if let Some(n) = negate(cond) {
        n
    } else {
        // `a & b == 0`.
        refine_unset(&mut a, &b, bits)?;
        refine_unset(&mut b, &a, bits)?;
        return (a.sync() && b.sync()).then_some((a, b));
    };
    {
        let (ba, bb) = (a.bounds(bits), b.bounds(bits));
        let (mut na, mut nb) = (ba, bb);
        match cond {
            JmpCond::Eq => {
                na.meet(&bb);
                nb = na;
                let t = a.tn(bits).intersect(b.tn(bits))?;
                set_tnum(&mut a, t, bits);
                set_tnum(&mut b, t, bits);
            }
            JmpCond::Ne => {
                if let Some(c) = single(&bb) {
                    exclude(&mut na, c, bits);
                }
                if let Some(c) = single(&ba) {
                    exclude(&mut nb, c, bits);
                }
            }
            JmpCond::Set => {
                let (ma, mb) = (a.tn(bits).umax(), b.tn(bits).umax());
                if ma & mb == 0 {
                    return None;
                }
                // Both are non-zero.
                exclude(&mut na, 0, bits);
                exclude(&mut nb, 0, bits);
                // A single possible bit of one must be set in the other.
                if let Some(c) = b.tn(bits).is_const().then_some(b.tn(bits).value) {
                    if c.is_power_of_two() {
                        let t = a.tn(bits).intersect(Tnum {
                            value: c,
                            mask: umax_of(bits) & !c,
                        })?;
                        set_tnum(&mut a, t, bits);
                    }
                }
            }
            JmpCond::Lt | JmpCond::Le | JmpCond::Gt | JmpCond::Ge => {
                let (lo, hi, nlo, nhi) = if matches!(cond, JmpCond::Lt | JmpCond::Le) {
                    (&mut na, &mut nb, ba, bb)
                } else {
                    (&mut nb, &mut na, bb, ba)
                };
                // lo < hi (or <=).
                let strict = matches!(cond, JmpCond::Lt | JmpCond::Gt) as u64;
                lo.umax = lo.umax.min(nhi.umax.checked_sub(strict)?);
                hi.umin = hi.umin.max(
                    nlo.umin
                        .checked_add(strict)
                        .filter(|&v| v <= umax_of(bits))?,
                );
            }
            JmpCond::Slt | JmpCond::Sle | JmpCond::Sgt | JmpCond::Sge => {
                let (lo, hi, nlo, nhi) = if matches!(cond, JmpCond::Slt | JmpCond::Sle) {
                    (&mut na, &mut nb, ba, bb)
                } else {
                    (&mut nb, &mut na, bb, ba)
                };
                let strict = matches!(cond, JmpCond::Slt | JmpCond::Sgt) as i64;
                let m = nhi
                    .smax
                    .checked_sub(strict)
                    .filter(|&v| v >= smin_of(bits))?;
                lo.smax = lo.smax.min(m);
                let m = nlo
                    .smin
                    .checked_add(strict)
                    .filter(|&v| v <= smax_of(bits))?;
                hi.smin = hi.smin.max(m);
            }
        }
        if na.is_empty() || nb.is_empty() {
            return None;
        }
        if bits == 64 {
            a.b64 = na;
            b.b64 = nb;
        } else {
            a.b32 = na;
            b.b32 = nb;
        }
    }
    (a.sync() && b.sync()).then_some((a, b))
}

/// `a & b == 0`: bits possibly set in `b`'s known ones are clear in `a`.
fn refine_unset(a: &mut Scalar, b: &Scalar, bits: u32) -> Option<()> {
    let (ta, tb) = (a.tn(bits), b.tn(bits));
    if ta.value & tb.value != 0 {
        return None;
    }
    if tb.is_const() {
        let t = Tnum {
            value: ta.value,
            mask: ta.mask & !tb.value,
        };
        set_tnum(a, t, bits);
    }
    Some(())
}

fn set_tnum(s: &mut Scalar, t: Tnum, bits: u32) {
    if bits == 64 {
        s.var = t;
    } else {
        s.var = s.var.with_subreg(t);
    }
}

fn single(b: &Bounds) -> Option<u64> {
    (b.umin == b.umax).then_some(b.umin)
}

/// Removes `c` from the interval when it is at one of its ends.
fn exclude(b: &mut Bounds, c: u64, bits: u32) {
    if b.umin == c {
        b.umin = b.umin.wrapping_add(1);
        if b.umin > umax_of(bits) || b.umin == 0 {
            b.umin = 1;
            b.umax = 0; // empty
        }
    } else if b.umax == c {
        if b.umax == 0 {
            b.umin = 1;
            b.umax = 0;
        } else {
            b.umax -= 1;
        }
    }
    let s = signed(c, bits);
    if b.smin == s {
        if s == smax_of(bits) {
            b.smin = 1;
            b.smax = 0;
        } else {
            b.smin += 1;
        }
    } else if b.smax == s {
        if s == smin_of(bits) {
            b.smin = 1;
            b.smax = 0;
        } else {
            b.smax -= 1;
        }
    }
}

/// Whether `a cond b` holds on every value (`Some(true)`), on none
/// (`Some(false)`), or is undecided.
#[cfg(test)]
pub fn decide(cond: JmpCond, a: &Scalar, b: &Scalar, width: Width) -> Option<bool> {
    match (
        refine(cond, true, a, b, width).is_some(),
        refine(cond, false, a, b, width).is_some(),
    ) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &Scalar, probes: &[u64]) -> Vec<u64> {
        probes.iter().copied().filter(|&v| s.admits(v)).collect()
    }

    impl Scalar {
        fn admits(&self, v: u64) -> bool {
            self.var.contains_value(v)
                && self.b64.umin <= v
                && v <= self.b64.umax
                && self.b64.smin <= v as i64
                && v as i64 <= self.b64.smax
                && self.b32.umin <= v & LOW32
                && v & LOW32 <= self.b32.umax
                && self.b32.smin <= v as u32 as i32 as i64
                && v as u32 as i32 as i64 <= self.b32.smax
        }
    }

    fn probes() -> Vec<u64> {
        let mut v = vec![];
        for base in [
            0u64,
            1 << 31,
            1 << 32,
            1 << 63,
            u64::MAX - 70,
            (1 << 32) - 40,
            0xffff_ffff_8000_0000 - 3,
        ] {
            for d in 0..80 {
                v.push(base.wrapping_add(d));
            }
        }
        v.extend([
            5,
            17,
            100,
            255,
            256,
            4096,
            65535,
            0x7fff_ffff,
            0x8000_0001,
            0xdead_beef,
        ]);
        v
    }

    fn scalars() -> Vec<Scalar> {
        let mut out = vec![
            Scalar::UNKNOWN,
            Scalar::constant(0),
            Scalar::constant(5),
            Scalar::constant(u64::MAX),
            Scalar::constant(1 << 31),
            Scalar::unsigned_bytes(1),
            Scalar::unsigned_bytes(4),
            Scalar::signed_bytes(1),
            Scalar::signed_bytes(4),
            Scalar::urange(3, 40),
            Scalar::urange(1 << 32, (1 << 32) + 50),
            Scalar::urange(u64::MAX - 60, u64::MAX),
            Scalar::urange((1 << 31) - 5, (1 << 31) + 5),
            Scalar::urange((1 << 32) - 30, (1 << 32) + 30),
            Scalar::from_tnum(Tnum {
                value: 4,
                mask: 0x31,
            }),
        ];
        let mut s = Scalar::UNKNOWN;
        s.b64.smin = -20;
        s.b64.smax = 20;
        out.push(s.normalised());
        out
    }

    #[test]
    fn alu_results_contain_every_concrete_result() {
        let probes = probes();
        let ops = [
            AluOp::Add,
            AluOp::Sub,
            AluOp::Mul,
            AluOp::Div,
            AluOp::Sdiv,
            AluOp::Or,
            AluOp::And,
            AluOp::Lsh,
            AluOp::Rsh,
            AluOp::Mod,
            AluOp::Smod,
            AluOp::Xor,
            AluOp::Mov,
            AluOp::MovSx8,
            AluOp::MovSx16,
            AluOp::Arsh,
        ];
        let mut rhs = scalars();
        rhs.extend([
            Scalar::constant(3),
            Scalar::constant(31),
            Scalar::urange(0, 7),
            Scalar::urange(2, 5),
        ]);
        for a in scalars() {
            let am = members(&a, &probes);
            for b in &rhs {
                let bm: Vec<u64> = members(b, &probes).into_iter().take(40).collect();
                for width in [Width::W64, Width::W32] {
                    for op in ops {
                        let r = a.alu(op, b, width);
                        for &x in am.iter().take(60) {
                            for &y in &bm {
                                // Shifts by more than the width are masked by
                                // the interpreter; the verifier returns
                                // unknown there, which contains them.
                                let v = eval_alu(op, x, y, width);
                                assert!(
                                    r.admits(v),
                                    "{op:?} {width:?} {a:?} {b:?} -> {r:?}: {x:#x} {y:#x} = {v:#x}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn union_contains_both_operands() {
        let probes = probes();
        for a in scalars() {
            for b in scalars() {
                let u = a.union(&b);
                assert!(u.contains(&a) && u.contains(&b), "{a:?} {b:?} -> {u:?}");
                for &v in &probes {
                    if a.admits(v) || b.admits(v) {
                        assert!(u.admits(v), "{v:#x} in {a:?} or {b:?}, not in {u:?}");
                    }
                }
            }
        }
        let u = Scalar::constant(0).union(&Scalar::constant(12));
        assert_eq!((u.b64.umin, u.b64.umax), (0, 12));
    }

    #[test]
    fn refinement_keeps_every_satisfying_pair() {
        let probes = probes();
        for a in scalars() {
            let am: Vec<u64> = members(&a, &probes).into_iter().take(50).collect();
            for b in scalars()
                .into_iter()
                .chain([Scalar::constant(40), Scalar::constant(0x8000_0000)])
            {
                let bm: Vec<u64> = members(&b, &probes).into_iter().take(50).collect();
                for width in [Width::W64, Width::W32] {
                    for cond in JmpCond::ALL {
                        for holds in [true, false] {
                            let r = refine(cond, holds, &a, &b, width);
                            for &x in &am {
                                for &y in &bm {
                                    let t = match width {
                                        Width::W64 => cond.eval64(x, y),
                                        Width::W32 => cond.eval32(x as u32, y as u32),
                                    };
                                    if t == holds {
                                        let (ra, rb) = r.unwrap_or_else(|| panic!("{cond:?} {holds} {width:?} {a:?} {b:?}: {x:#x} {y:#x} satisfies but refined away"));
                                        assert!(ra.admits(x) && rb.admits(y), "{cond:?} {holds} {width:?} {a:?} {b:?} -> {ra:?} {rb:?}: {x:#x} {y:#x}");
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn precision_on_common_patterns() {
        // w &= 15; w <<= 2 gives [0, 60].
        let x = Scalar::unsigned_bytes(1).alu(AluOp::And, &Scalar::constant(15), Width::W32);
        let y = x.alu(AluOp::Lsh, &Scalar::constant(2), Width::W32);
        assert_eq!((y.b64.umin, y.b64.umax), (0, 60));
        // if x < 5 is false: x in [5, 15].
        let (r, _) = refine(JmpCond::Lt, false, &x, &Scalar::constant(5), Width::W32).unwrap();
        assert_eq!((r.b64.umin, r.b64.umax), (5, 15));
        // w %= 67 gives [0, 66].
        let h = Scalar::unsigned_bytes(4).alu(AluOp::Mod, &Scalar::constant(67), Width::W32);
        assert_eq!((h.b64.umin, h.b64.umax), (0, 66));
        // Sign extension of a value known in [0, 3] stays [0, 3].
        let c = Scalar::urange(0, 3);
        let s = c.alu(AluOp::Lsh, &Scalar::constant(32), Width::W64).alu(
            AluOp::Arsh,
            &Scalar::constant(32),
            Width::W64,
        );
        assert_eq!((s.b64.umin, s.b64.umax), (0, 3));
        assert_eq!(
            decide(JmpCond::Gt, &h, &Scalar::constant(66), Width::W32),
            Some(false)
        );
        assert_eq!(
            decide(
                JmpCond::Eq,
                &Scalar::constant(0),
                &Scalar::constant(0),
                Width::W64
            ),
            Some(true)
        );
    }
}
