//! The abstract state of one path: registers, stack slots and call frames,
//! acquired references; and the comparisons that let exploration stop
//! (`subsumes`: an explored state covers this one) or detect a loop that
//! never changes anything (`equal`).

use crate::scalar::Scalar;
use std::fmt;

/// Why a register that held a pointer may no longer be used.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Dead {
    /// A helper that may move packet data ran (at slot `pc`).
    PacketChanged { pc: u32, helper: u32 },
    /// The reference it held was released (at slot `pc`).
    Released { pc: u32, helper: u32 },
}

/// What a pointer points into.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum PtrKind {
    /// The program's context (`r1` at entry).
    Ctx,
    /// A stack frame, by its depth in the call chain (0: the program's).
    Stack { frame: u8 },
    /// Packet data (`ctx->data` plus offsets).
    Packet,
    /// Packet metadata (`ctx->data_meta` plus offsets).
    PacketMeta,
    /// `ctx->data_end`.
    PacketEnd,
    /// A map itself, by index in the object's maps (`CONST_PTR_TO_MAP`).
    Map { map: u32 },
    /// A map value; `maybe_null` until checked.
    MapValue { map: u32, maybe_null: bool },
    /// Memory of `size` bytes returned by a helper (a ring buffer record).
    Mem { size: u32, maybe_null: bool },
    /// The key of a map element a `bpf_for_each_map_elem` callback gets:
    /// `key_size` readable bytes (`PTR_TO_MAP_KEY`).
    MapKey { map: u32 },
    /// A map from a map of maps, or NULL (`map`: the outer map with
    /// `INNER_MAP` set); a `Map` once checked.
    MapOrNull { map: u32 },
    /// A function, by its first instruction (LD_IMM64 `BPF_PSEUDO_FUNC`):
    /// a callback passed to `bpf_loop` or `bpf_for_each_map_elem`.
    Func { insn: u32 },
}

impl PtrKind {
    pub fn maybe_null(self) -> bool {
        matches!(
            self,
            PtrKind::MapValue {
                maybe_null: true,
                ..
            } | PtrKind::Mem {
                maybe_null: true,
                ..
            } | PtrKind::MapOrNull { .. }
        )
    }

    pub fn non_null(self) -> PtrKind {
        match self {
            PtrKind::MapValue { map, .. } => PtrKind::MapValue {
                map,
                maybe_null: false,
            },
            PtrKind::Mem { size, .. } => PtrKind::Mem {
                size,
                maybe_null: false,
            },
            PtrKind::MapOrNull { map } => PtrKind::Map { map },
            k => k,
        }
    }

    pub fn is_packet(self) -> bool {
        matches!(self, PtrKind::Packet | PtrKind::PacketMeta)
    }

    /// A short name for messages.
    pub fn describe(self) -> &'static str {
        match self {
            PtrKind::Ctx => "the context",
            PtrKind::Stack { .. } => "the stack",
            PtrKind::Packet => "packet data",
            PtrKind::PacketMeta => "packet metadata",
            PtrKind::PacketEnd => "the end of the packet",
            PtrKind::Map { .. } => "a map",
            PtrKind::MapValue {
                maybe_null: false, ..
            } => "a map value",
            PtrKind::MapValue {
                maybe_null: true, ..
            } => "a map value or null",
            PtrKind::Mem {
                maybe_null: false, ..
            } => "a ring buffer record",
            PtrKind::Mem {
                maybe_null: true, ..
            } => "a ring buffer record or null",
            PtrKind::MapKey { .. } => "a map key",
            PtrKind::MapOrNull { .. } => "a map or null",
            PtrKind::Func { .. } => "a function",
        }
    }
}

/// A pointer: `base(kind) + off + var`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Ptr {
    pub kind: PtrKind,
    /// The fixed offset.
    pub off: i32,
    /// The variable offset (the constant 0 when none).
    pub var: Scalar,
    /// Packet pointers: identity of the variable offset (0 for none), shared
    /// by copies so a range check refines them all. Nullable pointers: the
    /// identity the null check refines.
    pub id: u32,
    /// The acquired reference this pointer holds (0 for none).
    pub ref_id: u32,
    /// Packet pointers: bytes from `base + var` proven inside the packet.
    pub range: u32,
}

impl Ptr {
    pub fn new(kind: PtrKind) -> Ptr {
        Ptr {
            kind,
            off: 0,
            var: Scalar::constant(0),
            id: 0,
            ref_id: 0,
            range: 0,
        }
    }

    pub fn has_var(&self) -> bool {
        !self.var.is_zero()
    }
}

/// The value of a register or a spilled stack slot.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Val {
    NotInit,
    /// A pointer made unusable; reading it is an error that says why.
    Dead(Dead),
    /// A number; copies share a non-zero `id` so that a branch on one
    /// refines the others.
    Scalar {
        val: Scalar,
        id: u32,
    },
    Ptr(Ptr),
}

impl Val {
    pub fn scalar(val: Scalar) -> Val {
        Val::Scalar { val, id: 0 }
    }

    pub fn unknown() -> Val {
        Val::scalar(Scalar::UNKNOWN)
    }

    /// A pointer, usable or made unusable ([`Val::Dead`]): its bits are an
    /// address.
    pub fn is_pointer(&self) -> bool {
        matches!(self, Val::Ptr(_) | Val::Dead(_))
    }
}

/// What is known of one stack byte.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Mark {
    /// Never written on this path.
    Invalid,
    /// Written, value unknown.
    Misc,
    /// Written with zero.
    Zero,
    /// Part of the spilled register of its slot.
    Spill,
}

/// One 8-byte stack slot: per-byte marks (byte 0 is the lowest address) and
/// the register spilled into the slot's low bytes, when any.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Slot {
    pub marks: [Mark; 8],
    /// The spilled value (`NotInit` when no byte is `Spill`). A pointer is
    /// always spilled whole; a scalar may be spilled in its low 1, 2 or 4
    /// bytes, truncated to them.
    pub spill: Val,
}

impl Slot {
    pub const EMPTY: Slot = Slot {
        marks: [Mark::Invalid; 8],
        spill: Val::NotInit,
    };

    pub fn spill_size(&self) -> usize {
        self.marks.iter().take_while(|m| **m == Mark::Spill).count()
    }

    pub fn is_full_spill(&self) -> bool {
        self.marks.iter().all(|m| *m == Mark::Spill)
    }

    /// Whether the slot holds a spilled pointer (usable or not).
    pub fn holds_pointer(&self) -> bool {
        self.spill.is_pointer()
    }

    /// Forgets the spilled register, keeping its bytes as written data.
    pub fn scrub(&mut self) {
        if self.spill != Val::NotInit {
            for m in &mut self.marks {
                if *m == Mark::Spill {
                    *m = Mark::Misc;
                }
            }
            self.spill = Val::NotInit;
        }
    }
}

/// Maximum number of nested frames (the program's and 7 calls), as Linux.
pub const MAX_FRAMES: usize = 8;
/// Stack bytes of one frame.
pub const STACK_SIZE: usize = 512;

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Frame {
    pub regs: [Val; 11],
    /// Slot `i` covers `[fp - 8 * (i + 1), fp - 8 * i)`.
    pub stack: Vec<Slot>,
    /// Instruction index of the call that created the frame (`u32::MAX` for
    /// the program's frame).
    pub callsite: u32,
    /// Instruction index of the function's first instruction.
    pub func: u32,
    /// A callback (of `bpf_loop`, `bpf_for_each_map_elem`): it returns to
    /// its callsite, the helper call, which may call it again.
    pub callback: bool,
    /// How many times a callback called from this frame returned to it on
    /// this path: a path that comes back to a state only through another
    /// call of an enclosing callback goes round the helper's (bounded)
    /// loop, not an infinite one.
    pub cb_returns: u32,
}

impl Frame {
    pub fn new(func: u32, callsite: u32, depth: u8) -> Frame {
        let mut regs = [Val::NotInit; 11];
        regs[10] = Val::Ptr(Ptr::new(PtrKind::Stack { frame: depth }));
        Frame {
            regs,
            stack: Vec::new(),
            callsite,
            func,
            callback: false,
            cb_returns: 0,
        }
    }

    pub fn slot_mut(&mut self, i: usize) -> &mut Slot {
        if self.stack.len() <= i {
            self.stack.resize(i + 1, Slot::EMPTY);
        }
        &mut self.stack[i]
    }

    pub fn slot(&self, i: usize) -> &Slot {
        self.stack.get(i).unwrap_or(&Slot::EMPTY)
    }
}

/// An acquired reference: its id and the slot of the instruction that
/// acquired it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ref {
    pub id: u32,
    pub pc: u32,
    pub helper: u32,
    /// Depth of the frame that acquired it.
    pub frame: u8,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct State {
    pub frames: Vec<Frame>,
    pub refs: Vec<Ref>,
}

impl State {
    /// Bytes the state occupies, inline and on the heap (statistics).
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<State>()
            + self.frames.capacity() * std::mem::size_of::<Frame>()
            + self
                .frames
                .iter()
                .map(|f| f.stack.capacity() * std::mem::size_of::<Slot>())
                .sum::<usize>()
            + self.refs.capacity() * std::mem::size_of::<Ref>()
    }

    pub fn cur(&self) -> &Frame {
        self.frames.last().expect("a state has a frame")
    }

    pub fn cur_mut(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("a state has a frame")
    }

    /// Every register and spilled value of every frame.
    pub fn for_each_reg(&mut self, mut f: impl FnMut(&mut Val)) {
        for frame in &mut self.frames {
            for r in &mut frame.regs {
                f(r);
            }
            for s in &mut frame.stack {
                if s.spill != Val::NotInit {
                    f(&mut s.spill);
                }
            }
        }
    }
}

/// Identities of the explored state mapped to those of the current one.
pub struct IdMap {
    pairs: Vec<(u32, u32)>,
    /// Exact comparisons need the mapping to be one-to-one.
    exact: bool,
    tmp: u32,
}

impl IdMap {
    pub fn new(exact: bool) -> IdMap {
        IdMap {
            pairs: Vec::new(),
            exact,
            tmp: u32::MAX,
        }
    }

    /// Whether `old` may correspond to `cur`: the same old id always maps to
    /// the same current id.
    fn check(&mut self, old: u32, cur: u32) -> bool {
        if old == 0 || cur == 0 {
            return old == cur;
        }
        for &(o, c) in &self.pairs {
            if o == old {
                return c == cur;
            }
            if self.exact && c == cur {
                return false;
            }
        }
        self.pairs.push((old, cur));
        true
    }

    /// Scalar links: an unlinked old scalar accepts anything; a linked one
    /// needs the current scalars to be linked the same way.
    fn check_scalar(&mut self, old: u32, cur: u32) -> bool {
        if old == 0 && !self.exact {
            return true;
        }
        if old == 0 && cur == 0 {
            return true;
        }
        let cur = if cur == 0 {
            self.tmp -= 1;
            self.tmp
        } else {
            cur
        };
        let old = if old == 0 {
            self.tmp -= 1;
            self.tmp
        } else {
            old
        };
        self.check(old, cur)
    }
}

/// Whether every concrete value of `cur` is one of `old`, so that what was
/// proven from `old` holds from `cur` (`exact`: the two are the same).
pub fn reg_covers(old: &Val, cur: &Val, ids: &mut IdMap) -> bool {
    let exact = ids.exact;
    match (old, cur) {
        // Nothing read an uninitialised register on the explored paths (it
        // would have been an error), so its value does not matter.
        (Val::NotInit | Val::Dead(_), _) if !exact => true,
        (Val::NotInit, Val::NotInit) => true,
        (Val::Dead(a), Val::Dead(b)) => a == b,
        (Val::Scalar { val: a, id: ia }, Val::Scalar { val: b, id: ib }) => {
            (if exact { a == b } else { a.contains(b) }) && ids.check_scalar(*ia, *ib)
        }
        (Val::Ptr(a), Val::Ptr(b)) => {
            if a.kind != b.kind || a.off != b.off {
                return false;
            }
            let var_ok = if exact {
                a.var == b.var
            } else {
                a.var.contains(&b.var)
            };
            let range_ok = if exact {
                a.range == b.range
            } else {
                a.range <= b.range
            };
            var_ok && range_ok && ids.check(a.id, b.id) && ids.check(a.ref_id, b.ref_id)
        }
        _ => false,
    }
}

/// Whether stack slot `cur` is covered by `old` (see [`reg_covers`]).
fn slot_covers(old: &Slot, cur: &Slot, ids: &mut IdMap) -> bool {
    if ids.exact {
        return old.marks == cur.marks && reg_covers(&old.spill, &cur.spill, ids);
    }
    if old.marks.iter().all(|m| *m == Mark::Invalid) {
        return true;
    }
    // A whole-slot scalar is comparable with eight written bytes.
    let as_scalar = |s: &Slot| -> Option<Val> {
        if s.is_full_spill() {
            return match s.spill {
                r @ Val::Scalar { .. } => Some(r),
                _ => None,
            };
        }
        if s.marks.iter().all(|m| *m == Mark::Zero) {
            return Some(Val::scalar(Scalar::constant(0)));
        }
        if s.marks.iter().all(|m| matches!(m, Mark::Zero | Mark::Misc)) {
            return Some(Val::unknown());
        }
        None
    };
    if old.is_full_spill() || cur.is_full_spill() {
        if let (Some(o), Some(c)) = (as_scalar(old), as_scalar(cur)) {
            return reg_covers(&o, &c, ids);
        }
        return old.is_full_spill()
            && cur.is_full_spill()
            && reg_covers(&old.spill, &cur.spill, ids);
    }
    // Partial scalar spills in the low bytes, byte marks elsewhere.
    let (os, cs) = (old.spill_size(), cur.spill_size());
    if os > 0 && (os != cs || !reg_covers(&old.spill, &cur.spill, ids)) {
        return false;
    }
    let cur_is_scalar_spill = matches!(cur.spill, Val::Scalar { .. });
    for (i, (o, c)) in old.marks.iter().zip(cur.marks.iter()).enumerate() {
        let ok = match o {
            Mark::Invalid => true,
            Mark::Spill => i < cs,
            Mark::Misc => match c {
                Mark::Misc | Mark::Zero => true,
                Mark::Spill => cur_is_scalar_spill,
                Mark::Invalid => false,
            },
            Mark::Zero => *c == Mark::Zero,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Whether `old` covers `cur` (`exact`: equals it), comparing only the
/// registers live in each frame.
/// What of one frame a state comparison looks at: the live registers and
/// stack slots (bit `k` of `slots`: slot `k`), and among them the ones whose
/// numbers matter (`precise_regs`, `precise_slots`); a scalar in a live but
/// imprecise place only has to be a scalar in both states (see
/// `crate::precision`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLive {
    pub regs: u16,
    pub slots: u64,
    pub precise_regs: u16,
    pub precise_slots: u64,
}

impl FrameLive {
    /// Everything live and precise except the registers outside `regs`.
    pub fn regs_only(regs: u16) -> FrameLive {
        FrameLive {
            regs,
            slots: u64::MAX,
            precise_regs: u16::MAX,
            precise_slots: u64::MAX,
        }
    }
}

pub fn state_covers(old: &State, cur: &State, live: &[FrameLive], exact: bool) -> bool {
    if old.frames.len() != cur.frames.len() || old.refs.len() != cur.refs.len() {
        return false;
    }
    let mut ids = IdMap::new(exact);
    let last = cur.frames.len() - 1;
    for (k, ((fo, fc), mask)) in old.frames.iter().zip(&cur.frames).zip(live).enumerate() {
        if fo.callsite != fc.callsite || fo.func != fc.func || fo.callback != fc.callback {
            return false;
        }
        if exact && k < last && fo.cb_returns != fc.cb_returns {
            return false;
        }
        for r in 0..10 {
            if mask.regs & (1 << r) == 0 {
                continue;
            }
            let ok = if !exact && mask.precise_regs & (1 << r) == 0 {
                imprecise_covers(&fo.regs[r], &fc.regs[r], &mut ids)
            } else {
                reg_covers(&fo.regs[r], &fc.regs[r], &mut ids)
            };
            if !ok {
                return false;
            }
        }
        let n = fo.stack.len().max(fc.stack.len());
        for i in 0..n {
            // Dead slots (never read again before being wholly rewritten)
            // cannot influence what follows; exact comparisons (loop
            // detection) keep looking at them.
            let bit = if i < 64 { 1u64 << i } else { 0 };
            if !exact && mask.slots & bit == 0 {
                continue;
            }
            let ok = if !exact && mask.precise_slots & bit == 0 {
                let (o, c) = (fo.slot(i), fc.slot(i));
                imprecise_slot_covers(o, c) || slot_covers(o, c, &mut ids)
            } else {
                slot_covers(fo.slot(i), fc.slot(i), &mut ids)
            };
            if !ok {
                return false;
            }
        }
    }
    for (a, b) in old.refs.iter().zip(&cur.refs) {
        if !ids.check(a.id, b.id) {
            return false;
        }
    }
    true
}

/// After `state_covers(old, cur, live, false)` held: for each frame, the
/// registers and stack slots (as `(regs, slots)` masks) where it held only
/// because the place is imprecise — `cur` may hold a number outside `old`'s,
/// or `old`'s number is linked to copies `cur`'s is not — together with
/// every copy, in any frame, of such a linked `old` number (a comparison of
/// one refines them all). Executions of `cur` follow `old`'s explored paths
/// with other numbers there (see `crate::taint`).
pub fn imprecise_differences(old: &State, cur: &State, live: &[FrameLive]) -> Vec<(u16, u64)> {
    let mut out = vec![(0u16, 0u64); old.frames.len()];
    let mut ids = Vec::new();
    let differs = |o: &Val, c: &Val, ids: &mut Vec<u32>| match (o, c) {
        (Val::Scalar { val: a, id }, Val::Scalar { val: b, .. }) => {
            if *id != 0 {
                ids.push(*id);
            }
            *id != 0 || !a.contains(b)
        }
        _ => false,
    };
    for (k, ((fo, fc), mask)) in old.frames.iter().zip(&cur.frames).zip(live).enumerate() {
        for r in 0..10 {
            let b = 1u16 << r;
            if mask.regs & b != 0
                && mask.precise_regs & b == 0
                && differs(&fo.regs[r], &fc.regs[r], &mut ids)
            {
                out[k].0 |= b;
            }
        }
        for i in 0..fo.stack.len().max(fc.stack.len()).min(64) {
            let b = 1u64 << i;
            let (o, c) = (fo.slot(i), fc.slot(i));
            if mask.slots & b == 0 || mask.precise_slots & b != 0 {
                continue;
            }
            let linked = match o.spill {
                Val::Scalar { id, .. } if id != 0 => {
                    ids.push(id);
                    true
                }
                _ => false,
            };
            if linked || !slot_covers(o, c, &mut IdMap::new(false)) {
                out[k].1 |= b;
            }
        }
    }
    if !ids.is_empty() {
        let linked = |v: &Val| matches!(v, Val::Scalar { id, .. } if *id != 0 && ids.contains(id));
        for (k, f) in old.frames.iter().enumerate() {
            for r in 0..10 {
                if linked(&f.regs[r]) {
                    out[k].0 |= 1 << r;
                }
            }
            for (i, s) in f.stack.iter().enumerate().take(64) {
                if linked(&s.spill) {
                    out[k].1 |= 1 << i;
                }
            }
        }
    }
    out
}

/// A live stack slot whose numbers do not matter (no explored path let a
/// number read from it decide anything): it covers when neither slot holds
/// a spilled pointer and every byte written in `old` is written in `cur`
/// (spilled scalars of any size, zeros and unknown bytes alike), so every
/// read the explored paths made of it still reads initialised bytes.
fn imprecise_slot_covers(old: &Slot, cur: &Slot) -> bool {
    !old.holds_pointer()
        && !cur.holds_pointer()
        && old
            .marks
            .iter()
            .zip(cur.marks.iter())
            .all(|(o, c)| *o == Mark::Invalid || *c != Mark::Invalid)
}

/// A live register whose number does not matter: a scalar covers any
/// scalar (its range and links are ignored); anything else as
/// [`reg_covers`].
fn imprecise_covers(old: &Val, cur: &Val, ids: &mut IdMap) -> bool {
    match (old, cur) {
        (Val::Scalar { .. }, Val::Scalar { .. }) => true,
        _ => reg_covers(old, cur, ids),
    }
}

/// Widens `cur` so that it also covers `old` (both states at one callback
/// callsite): every live register and stack slot `old` does not cover
/// becomes what both may hold — numbers the hull of both (`hull`) or
/// unknown, pointers that differ unusable, stack bytes written in both only
/// "written", others unwritten. The result covers `cur` (so exploring it
/// instead is sound) and, once numbers go unknown, every state a callback
/// loop reaches (so exploration ends). Without `allow_ptr_leaks` a slot
/// where either state spilled a pointer becomes unwritten instead, so that
/// the pointer's bytes are never read as a number.
pub fn widen(old: &State, cur: &mut State, live: &[FrameLive], hull: bool, allow_ptr_leaks: bool) {
    if old.frames.len() != cur.frames.len() {
        return;
    }
    for ((fo, fc), mask) in old.frames.iter().zip(cur.frames.iter_mut()).zip(live) {
        for r in 0..10 {
            if mask.regs & (1 << r) == 0 {
                continue;
            }
            let mut ids = IdMap::new(false);
            if !reg_covers(&fo.regs[r], &fc.regs[r], &mut ids) {
                fc.regs[r] = join(&fo.regs[r], &fc.regs[r], hull);
            }
        }
        let n = fo.stack.len().max(fc.stack.len());
        for i in 0..n {
            let o = *fo.slot(i);
            let c = *fc.slot(i);
            let mut ids = IdMap::new(false);
            if slot_covers(&o, &c, &mut ids) {
                continue;
            }
            let joined = if o.is_full_spill()
                && c.is_full_spill()
                && matches!(o.spill, Val::Scalar { .. })
                && matches!(c.spill, Val::Scalar { .. })
            {
                Slot {
                    marks: [Mark::Spill; 8],
                    spill: join(&o.spill, &c.spill, hull),
                }
            } else {
                let hide = !allow_ptr_leaks && (o.holds_pointer() || c.holds_pointer());
                let mut marks = [Mark::Misc; 8];
                for (k, m) in marks.iter_mut().enumerate() {
                    if o.marks[k] == Mark::Invalid || c.marks[k] == Mark::Invalid || hide {
                        *m = Mark::Invalid;
                    }
                }
                Slot {
                    marks,
                    spill: Val::NotInit,
                }
            };
            *fc.slot_mut(i) = joined;
        }
    }
}

/// What either of two register values may be, for [`widen`].
fn join(a: &Val, b: &Val, hull: bool) -> Val {
    match (a, b) {
        (Val::Scalar { val: x, .. }, Val::Scalar { val: y, .. }) if hull => Val::scalar(x.union(y)),
        (Val::Scalar { .. }, Val::Scalar { .. }) => Val::unknown(),
        // Different pointers (or a pointer and a number) cannot be used
        // as either: the register reads as uninitialised.
        _ => Val::NotInit,
    }
}

impl fmt::Display for Dead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Dead::PacketChanged { pc, helper } => write!(
                f,
                "invalid (a packet pointer, invalidated by {} at {pc})",
                crate::helpers::name(helper)
            ),
            Dead::Released { pc, helper } => write!(
                f,
                "invalid (its reference was released by {} at {pc})",
                crate::helpers::name(helper)
            ),
        }
    }
}

/// Formats a scalar as compactly as its knowledge allows.
pub fn fmt_scalar(s: &Scalar) -> String {
    let num = |v: u64| {
        if v < 1 << 20 {
            format!("{v}")
        } else {
            format!("{v:#x}")
        }
    };
    if let Some(v) = s.const_value() {
        return if (v as i64) < 0 && (v as i64) > -(1 << 20) {
            format!("{}", v as i64)
        } else {
            num(v)
        };
    }
    let (b, b32) = (&s.b64, &s.b32);
    let mut parts = Vec::new();
    if b.umax < 1 << 63 {
        parts.push(format!("{}..={}", num(b.umin), num(b.umax)));
    } else if b.smin >= -(1 << 62) && b.smax <= 1 << 62 {
        parts.push(format!("{}..={}", b.smin, b.smax));
    } else if b.umin > 0 || b.umax < u64::MAX {
        parts.push(format!("{}..={} unsigned", num(b.umin), num(b.umax)));
    }
    if b.umax > u32::MAX as u64 && (b32.umin > 0 || b32.umax < u32::MAX as u64) {
        parts.push(format!("low 32 bits {}..={}", num(b32.umin), num(b32.umax)));
    }
    // Known low zero bits (alignment) say what the ranges do not.
    let zeros = (s.var.value | s.var.mask).trailing_zeros().min(16);
    if zeros > 0 && zeros < 64 {
        parts.push(format!("multiple of {}", 1u64 << zeros));
    }
    if parts.is_empty() {
        "scalar".into()
    } else {
        format!("scalar({})", parts.join(", "))
    }
}

/// A register as messages show it, with map names resolved by `map_name`.
pub fn fmt_reg(r: &Val, map_name: &dyn Fn(u32) -> String) -> String {
    match r {
        Val::NotInit => "uninitialised".into(),
        Val::Dead(d) => d.to_string(),
        Val::Scalar { val, .. } => fmt_scalar(val),
        Val::Ptr(p) => {
            let mut args = Vec::new();
            let name = match p.kind {
                PtrKind::Ctx => "ctx",
                PtrKind::Stack { frame } => {
                    let base = if frame == 0 {
                        "fp".to_string()
                    } else {
                        format!("fp[frame {frame}]")
                    };
                    let mut s = format!("{base}{:+}", p.off);
                    if p.has_var() {
                        s.push_str(&format!(" + {}", fmt_scalar(&p.var)));
                    }
                    return s;
                }
                PtrKind::Packet => "pkt",
                PtrKind::PacketMeta => "pkt_meta",
                PtrKind::PacketEnd => "pkt_end",
                PtrKind::Map { map } => return format!("map_ptr({})", map_name(map)),
                PtrKind::MapValue { map, maybe_null } => {
                    args.push(format!("map={}", map_name(map)));
                    if maybe_null {
                        "map_value_or_null"
                    } else {
                        "map_value"
                    }
                }
                PtrKind::Mem { size, maybe_null } => {
                    args.push(format!("size={size}"));
                    if maybe_null {
                        "ringbuf_mem_or_null"
                    } else {
                        "ringbuf_mem"
                    }
                }
                PtrKind::MapKey { map } => {
                    args.push(format!("map={}", map_name(map)));
                    "map_key"
                }
                PtrKind::Func { insn } => return format!("func(at instruction {insn})"),
                PtrKind::MapOrNull { map } => return format!("map_ptr_or_null({})", map_name(map)),
            };
            if !matches!(p.kind, PtrKind::PacketEnd) {
                args.push(format!("off={}", p.off));
            }
            if p.has_var() {
                args.push(format!("var={}", fmt_scalar(&p.var)));
            }
            if p.kind.is_packet() {
                args.push(format!("range={}", p.range));
            }
            if args.is_empty() {
                name.to_string()
            } else {
                format!("{name}({})", args.join(", "))
            }
        }
    }
}
