//! BPF stack slots kept in machine registers.
//!
//! eBPF has ten registers, so clang spills to the stack wherever a program
//! keeps more values alive, and Linux's JIT (like any one-to-one
//! translation) turns every spill and fill into a memory access. x86-64 and
//! aarch64 have more registers than eBPF, so when no pointer to a
//! function's frame ever exists, its stack is just more variables: each
//! 8-byte slot becomes a Cranelift variable, a load reads bits of it and a
//! store replaces bits of it, and the register allocator keeps it in a
//! register or spills it, as it would a value of its own.
//!
//! "No pointer to the frame" means that `r10` appears only as the base of
//! loads and stores at constant offsets, each inside one 8-byte slot: no
//! copy of `r10`, no arithmetic on it, no atomic on the stack. Then nothing
//! else (helpers, callees, callbacks) can reach the frame, and its bytes are
//! only what these loads and stores make of them.
//!
//! Not every slot, though: where clang spilled because eBPF's ten
//! registers ran out, a loop may keep more values alive than the machine
//! has registers, and the register allocator then does worse than the
//! spills did (see [`within_registers`]). Those slots stay in memory, and
//! their loads and stores are ordinary memory accesses through `r10`.
//!
//! A slot's variable starts at zero, which is what a frame holds in the
//! interpreter when the program starts; a callee's frame may hold older
//! bytes in the interpreter, so promotion is only for verified programs,
//! which never read a stack byte they did not write.

use cranelift_codegen::ir::types::{I16, I32, I64, I8};
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use std::collections::HashMap;
use waggle_isa::{Insn, MemSize, Reg, Source};

use super::{Function, Index, Layout};

/// The variables standing for a function's stack slots, by slot (the
/// offset from `r10` divided by 8, rounded down).
pub(super) struct StackSlots {
    vars: HashMap<i16, Variable>,
    /// By instruction: a narrow store after which no byte of its slot
    /// outside the store is read before being overwritten (see
    /// [`others_dead`]).
    others_dead: Vec<bool>,
}

/// Where an access at `off` of `size` bytes lies: its slot and the byte
/// offset inside it, if it stays inside one slot of the 512-byte frame.
fn place(off: i16, size: MemSize) -> Option<(i16, u32)> {
    let bytes = size.bytes() as i16;
    if !(-512..0).contains(&off) || off + bytes > 0 {
        return None;
    }
    let slot = off.div_euclid(8);
    let at = off.rem_euclid(8);
    (at + bytes <= 8).then_some((slot, at as u32))
}

impl StackSlots {
    /// The slots of `f`'s frame as variables of `b`, starting at zero, when
    /// nothing can point into the frame (see the module documentation),
    /// except those [`within_registers`] leaves in memory; `None` if no slot
    /// is left. `component` is each instruction's strongly connected
    /// component, to find loops.
    pub fn of(
        layout: &Layout<'_>,
        f: &Function,
        component: &[usize],
        b: &mut FunctionBuilder<'_>,
    ) -> Option<Self> {
        let mut slots = Vec::new();
        for &i in &f.body {
            match layout.insn(i) {
                Insn::Load { size, src, off, .. } if src == Reg::R10 => {
                    slots.push(place(off, size)?.0);
                }
                Insn::Store {
                    size,
                    dst,
                    off,
                    src,
                } if dst == Reg::R10 => {
                    if src == Source::Reg(Reg::R10) {
                        return None;
                    }
                    slots.push(place(off, size)?.0);
                }
                insn if mentions_r10(insn) => return None,
                _ => {}
            }
        }
        if slots.is_empty() {
            return None;
        }
        slots.sort_unstable();
        slots.dedup();
        let slots = within_registers(layout, f, component, slots);
        if slots.is_empty() {
            return None;
        }
        let zero = b.ins().iconst(I64, 0);
        let vars = slots
            .into_iter()
            .map(|slot| {
                let var = b.declare_var(I64);
                b.def_var(var, zero);
                (slot, var)
            })
            .collect();
        Some(StackSlots {
            vars,
            others_dead: others_dead(layout, f),
        })
    }

    /// Whether the access of `size` bytes at `r10 + off` is to a slot kept
    /// in a variable.
    pub fn holds(&self, off: i16, size: MemSize) -> bool {
        place(off, size).is_some_and(|(slot, _)| self.vars.contains_key(&slot))
    }

    /// `size` bytes at `r10 + off` (sign-extended if asked), as a 64-bit
    /// value, or `None` if `off` is not one of the function's accesses.
    pub fn load(
        &self,
        b: &mut FunctionBuilder<'_>,
        size: MemSize,
        sign_extend: bool,
        off: i16,
    ) -> Option<Value> {
        let (slot, at) = place(off, size)?;
        let word = b.use_var(*self.vars.get(&slot)?);
        let shifted = match at {
            0 => word,
            at => b.ins().ushr_imm_s(word, i64::from(at * 8)),
        };
        Some(match narrow_type(size) {
            None => shifted,
            Some(ty) => {
                let narrow = b.ins().ireduce(ty, shifted);
                if sign_extend {
                    b.ins().sextend(I64, narrow)
                } else {
                    b.ins().uextend(I64, narrow)
                }
            }
        })
    }

    /// Stores the low `size` bytes of `value` at `r10 + off` (the store
    /// instruction `i`); `false` if `off` is not one of the function's
    /// accesses.
    pub fn store(
        &self,
        b: &mut FunctionBuilder<'_>,
        i: Index,
        size: MemSize,
        off: i16,
        value: Value,
    ) -> bool {
        let Some((slot, at)) = place(off, size) else {
            return false;
        };
        let Some(&var) = self.vars.get(&slot) else {
            return false;
        };
        let new = match narrow_type(size) {
            None => value,
            // The other bytes are never read again: the word needs only
            // these in place (clang spills a 32-bit value with a 4-byte
            // store and fills it with a 4-byte load).
            Some(_) if self.others_dead[i] => match at {
                0 => value,
                at => b.ins().ishl_imm_s(value, i64::from(at * 8)),
            },
            Some(ty) => {
                let bits = ty.bits() as i64;
                let mask = ((1u64 << bits) - 1) << (at * 8);
                let old = b.use_var(var);
                let kept = b.ins().band_imm_s(old, !mask as i64);
                let narrow = b.ins().ireduce(ty, value);
                let wide = b.ins().uextend(I64, narrow);
                let placed = match at {
                    0 => wide,
                    at => b.ins().ishl_imm_s(wide, i64::from(at * 8)),
                };
                b.ins().bor(kept, placed)
            }
        };
        b.def_var(var, new);
        true
    }
}

/// How many values a loop may keep alive, BPF registers and slots
/// together, before slots stay in memory: x86-64 has 14 registers for
/// values (aarch64 more), and compiled code keeps the run context's and the
/// frame's addresses in two of them.
const MAX_LIVE_IN_LOOPS: u32 = 12;

/// The slots among `slots` (sorted) to keep in variables: all, unless some
/// loop would then keep more than [`MAX_LIVE_IN_LOOPS`] values alive at
/// once. clang spills where eBPF's ten registers run out; kept in
/// registers, such spills overload the register allocator, which then
/// moves values between registers and its own spill slots on the loop's
/// edges, costing more than the loads and stores it saves. So, while some
/// loop instruction has too many values alive, the slot alive there that
/// the function's loops access least stays in memory.
fn within_registers(
    layout: &Layout<'_>,
    f: &Function,
    component: &[usize],
    mut slots: Vec<i16>,
) -> Vec<i16> {
    let live = liveness(layout, f);
    let mut size = HashMap::new();
    for &i in &f.body {
        *size.entry(component[i]).or_insert(0usize) += 1;
    }
    let in_loop = |i: Index| size[&component[i]] > 1 || layout.successors(i).any(|s| s == i);
    let mut accesses = [0u32; 64];
    for &i in f.body.iter().filter(|&&i| in_loop(i)) {
        let e = Effect::of(layout.insn(i));
        for (s, count) in accesses.iter_mut().enumerate() {
            *count += ((e.use_slots | e.def_slots) >> s & 1) as u32;
        }
    }
    let mut kept: u64 = slots.iter().fold(0, |m, &s| m | 1 << slot_bit(s));
    loop {
        let worst = f
            .body
            .iter()
            .filter(|&&i| in_loop(i))
            .map(|&i| {
                let (regs, stack) = live[i];
                (
                    regs.count_ones() + (stack & kept).count_ones(),
                    stack & kept,
                )
            })
            .max_by_key(|&(n, _)| n);
        let Some((n, alive)) = worst else { break };
        if n <= MAX_LIVE_IN_LOOPS || alive == 0 {
            break;
        }
        let coldest = (0..64)
            .filter(|&s| alive >> s & 1 == 1)
            .min_by_key(|&s| accesses[s])
            .expect("alive is not empty");
        kept &= !(1 << coldest);
    }
    slots.retain(|&s| kept >> slot_bit(s) & 1 == 1);
    slots
}

/// The bit of a slot (-64..=-1) in the masks of [`Effect`].
fn slot_bit(slot: i16) -> u32 {
    (slot + 64) as u32
}

/// The BPF registers (as the instruction set counts them) and frame slots
/// (by [`slot_bit`]) an instruction reads and writes, for liveness. A
/// partial write of a slot counts as a read too.
#[derive(Default, Clone, Copy)]
struct Effect {
    use_regs: u16,
    def_regs: u16,
    use_slots: u64,
    def_slots: u64,
}

impl Effect {
    fn of(insn: Insn) -> Effect {
        let (use_regs, def_regs) = insn.regs_read_written();
        let mut e = Effect {
            use_regs,
            def_regs,
            ..Effect::default()
        };
        match insn {
            Insn::Load { src, off, size, .. } if src == Reg::R10 => {
                if let Some((slot, _)) = place(off, size) {
                    e.use_slots = 1 << slot_bit(slot);
                }
            }
            Insn::Store { dst, off, size, .. } if dst == Reg::R10 => {
                if let Some((slot, _)) = place(off, size) {
                    e.def_slots = 1 << slot_bit(slot);
                    if size != MemSize::DW {
                        e.use_slots = e.def_slots;
                    }
                }
            }
            _ => {}
        }
        e
    }
}

/// The BPF registers and frame slots alive at the start of each
/// instruction of `f` (indexed as the layout).
fn liveness(layout: &Layout<'_>, f: &Function) -> Vec<(u16, u64)> {
    let effects: Vec<Effect> = (0..layout.len())
        .map(|i| Effect::of(layout.insn(i)))
        .collect();
    backward(
        layout,
        f,
        |(r, s), (r2, s2)| (r | r2, s | s2),
        |i, (regs, slots)| {
            let e = effects[i];
            (
                e.use_regs | (regs & !e.def_regs),
                e.use_slots | (slots & !e.def_slots),
            )
        },
    )
}

/// A backward fixpoint over `f`: what holds at the start of each
/// instruction (indexed as the layout), from `transfer(i, out)` where `out`
/// joins (`join`) what holds at the starts of its successors in `f`.
fn backward<T: Copy + Default + Eq>(
    layout: &Layout<'_>,
    f: &Function,
    join: impl Fn(T, T) -> T,
    transfer: impl Fn(Index, T) -> T,
) -> Vec<T> {
    let mut live = vec![T::default(); layout.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for &i in f.body.iter().rev() {
            let new = transfer(i, after(layout, &live, &join, i));
            if new != live[i] {
                live[i] = new;
                changed = true;
            }
        }
    }
    live
}

/// What holds after instruction `i`: the join over its successors of what
/// holds at their starts (`live`, from [`backward`]).
fn after<T: Copy + Default>(
    layout: &Layout<'_>,
    live: &[T],
    join: &impl Fn(T, T) -> T,
    i: Index,
) -> T {
    layout
        .successors(i)
        .filter(|&s| s < layout.len())
        .fold(T::default(), |acc, s| join(acc, live[s]))
}

/// Frame bytes as bits, byte `k` below `r10` at bit `512 - k`.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct FrameBytes([u64; 8]);

impl FrameBytes {
    /// The `size` bytes at `r10 + off` (inside the frame).
    fn at(off: i16, size: MemSize) -> FrameBytes {
        let mut bytes = FrameBytes::default();
        let start = (off + 512) as usize;
        for k in start..start + size.bytes() {
            bytes.0[k / 64] |= 1 << (k % 64);
        }
        bytes
    }

    fn union(self, other: FrameBytes) -> FrameBytes {
        FrameBytes(std::array::from_fn(|w| self.0[w] | other.0[w]))
    }

    fn minus(self, other: FrameBytes) -> FrameBytes {
        FrameBytes(std::array::from_fn(|w| self.0[w] & !other.0[w]))
    }

    fn meets(self, other: FrameBytes) -> bool {
        self.0.iter().zip(other.0).any(|(a, b)| a & b != 0)
    }
}

/// By instruction of `f`: whether it is a narrow store to the frame after
/// which no byte of its slot outside the store is read before something
/// overwrites it. A backward liveness of frame bytes; sound for the
/// functions [`StackSlots::of`] accepts, whose frame only their own loads
/// and stores at constant offsets can reach.
fn others_dead(layout: &Layout<'_>, f: &Function) -> Vec<bool> {
    let n = layout.len();
    // Bytes read and bytes written by each instruction.
    let effect = |i: Index| match layout.insn(i) {
        Insn::Load { size, src, off, .. } if src == Reg::R10 => place(off, size)
            .map_or((FrameBytes::default(), FrameBytes::default()), |_| {
                (FrameBytes::at(off, size), FrameBytes::default())
            }),
        Insn::Store { size, dst, off, .. } if dst == Reg::R10 => place(off, size)
            .map_or((FrameBytes::default(), FrameBytes::default()), |_| {
                (FrameBytes::default(), FrameBytes::at(off, size))
            }),
        _ => (FrameBytes::default(), FrameBytes::default()),
    };
    let union = |a: FrameBytes, b: FrameBytes| a.union(b);
    let live_in = backward(layout, f, union, |i, out| {
        let (used, defined) = effect(i);
        used.union(out.minus(defined))
    });
    let mut dead = vec![false; n];
    for &i in &f.body {
        if let Insn::Store { size, dst, off, .. } = layout.insn(i) {
            let Some((slot, _)) = place(off, size) else {
                continue;
            };
            if dst != Reg::R10 || size == MemSize::DW {
                continue;
            }
            let others = FrameBytes::at(slot * 8, MemSize::DW).minus(FrameBytes::at(off, size));
            dead[i] = !after(layout, &live_in, &union, i).meets(others);
        }
    }
    dead
}

/// The narrow type of an access of `size`, `None` for 8 bytes.
fn narrow_type(size: MemSize) -> Option<Type> {
    match size {
        MemSize::B => Some(I8),
        MemSize::H => Some(I16),
        MemSize::W => Some(I32),
        MemSize::DW => None,
    }
}

/// Whether `insn` reads or writes `r10` other than as the base of a load or
/// store (which [`StackSlots::of`] looks at itself).
fn mentions_r10(insn: Insn) -> bool {
    let reg = |r: Reg| r == Reg::R10;
    let source = |s: Source| s == Source::Reg(Reg::R10);
    match insn {
        Insn::Alu { dst, src, .. } | Insn::Jump { dst, src, .. } => reg(dst) || source(src),
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } | Insn::CallX { dst } => reg(dst),
        Insn::LdImm64 { dst, .. } => reg(dst),
        Insn::Load { dst, src, .. } => reg(dst) || reg(src),
        Insn::Store { dst, src, .. } => reg(dst) || source(src),
        Insn::Atomic { dst, src, .. } => reg(dst) || reg(src),
        Insn::LdInd { src, .. } => reg(src),
        Insn::Ja { .. } | Insn::JaLong { .. } | Insn::LdAbs { .. } | Insn::Call(_) | Insn::Exit => {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::testing::with_first_function;
    use crate::translate::strongly_connected;

    /// The slots [`within_registers`] keeps of a program that spills r1..r5
    /// to five slots before a loop and reads them back after it, while the
    /// loop uses `busy` registers besides its counter.
    fn kept_slots(busy: &[u8]) -> Vec<i16> {
        let mut src = String::from("mov %r0, 0\nmov %r9, 0\n");
        for r in 1..=8 {
            src += &format!("mov %r{r}, {r}\n");
        }
        for r in 1..=5 {
            src += &format!("stxdw [%r10-{}], %r{r}\n", 8 * r);
        }
        for r in busy {
            src += &format!("add %r0, %r{r}\n");
        }
        src += "add %r9, 1\n";
        src += &format!("jne %r9, 100, -{}\n", busy.len() + 2);
        for r in 1..=5 {
            src += &format!("ldxdw %r{r}, [%r10-{}]\n", 8 * r);
            src += &format!("add %r0, %r{r}\n");
        }
        src += "exit";
        with_first_function(&src, |layout, f| {
            let component = strongly_connected(layout, f);
            within_registers(layout, f, &component, vec![-5, -4, -3, -2, -1])
        })
    }

    /// A narrow store whose slot's other bytes no later load reads, before
    /// a store overwrites them, needs no merge; one whose other bytes are
    /// read does.
    #[test]
    fn narrow_stores_know_when_the_rest_of_their_slot_is_dead() {
        let src = "stxw [%r10-8], %r1\n\
                   ldxw %r2, [%r10-8]\n\
                   stxdw [%r10-8], %r2\n\
                   jeq %r2, 0, +1\n\
                   stxw [%r10-8], %r3\n\
                   ldxdw %r0, [%r10-8]\n\
                   stxh [%r10-14], %r1\n\
                   ldxdw %r4, [%r10-16]\n\
                   stxb [%r10-20], %r1\n\
                   ldxb %r4, [%r10-20]\n\
                   exit";
        let dead = with_first_function(src, others_dead);
        // 0: the slot is overwritten whole (2) before the rest is read.
        assert!(dead[0]);
        // 4: the 8-byte load at 5 reads the rest.
        assert!(!dead[4]);
        // 6: the 8-byte load at 7 reads the slot's other six bytes.
        assert!(!dead[6]);
        // 8: only its own byte is read again.
        assert!(dead[8]);
        // Not narrow stores.
        assert!(!dead[2] && !dead[1]);
    }

    #[test]
    fn slots_stay_in_memory_where_a_loop_has_too_many_values() {
        // r0, r9 and five slots: all fit.
        assert_eq!(kept_slots(&[]), vec![-5, -4, -3, -2, -1]);
        // r0..r9 (r1..r8 read in the loop) and the five slots alive through
        // it: 15 values, so three slots stay in memory.
        assert_eq!(kept_slots(&[1, 2, 3, 4, 5, 6, 7, 8]).len(), 2);
    }
}
