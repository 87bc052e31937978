//! What verification proved, per instruction, for a backend that wants to
//! run the program without checks: which registers an instruction reads hold
//! known constants or zero-extended 32-bit values, which memory region each
//! access is proven to stay inside, and which instructions no path reaches.
//!
//! Facts are keyed by slot index in the [`ProgramDef`](waggle_object::ProgramDef)
//! that was verified (the second slot of an `LD_IMM64` has none). A backend
//! that rewrites the program (the runtime's context rewrite) must map them
//! through its own rewrite.

use crate::taint::{self, Seed};
use serde::{Deserialize, Serialize};
use waggle_analysis::cfg::Cfg;
use waggle_isa::Reg;

/// What is known of one register an instruction reads, on every execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RegFact {
    /// The register holds this number whenever the instruction runs.
    pub constant: Option<u64>,
    /// The register's upper 32 bits are zero whenever the instruction runs
    /// (a 32-bit result, a zero-extending load, a small constant...).
    /// Never claimed for pointers.
    pub zext32: bool,
}

impl RegFact {
    /// Nothing known (also the fact of a register the instruction does not
    /// read, or of an instruction never reached).
    pub const UNKNOWN: RegFact = RegFact {
        constant: None,
        zext32: false,
    };

    fn join(self, other: RegFact) -> RegFact {
        RegFact {
            constant: if self.constant == other.constant {
                self.constant
            } else {
                None
            },
            zext32: self.zext32 && other.zext32,
        }
    }
}

/// The kind of memory an access is proven to stay inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// A stack frame (the instruction's own or a caller's).
    Stack,
    /// The program's context at a valid field (offsets are those of the
    /// UAPI structure: a backend rewriting context accesses maps them).
    Ctx,
    /// Packet data, within bytes a comparison with `data_end` proved.
    Packet,
    /// Packet metadata, within bytes a comparison with `data` proved.
    PacketMeta,
    /// A map value, within `value_size`; `map` is the object's map index
    /// when it is the same map on every execution (not for inner maps of a
    /// map of maps).
    MapValue { map: Option<u32> },
    /// A ring buffer record (or other helper memory), within its size.
    RingbufRecord,
    /// The read-only key a `bpf_for_each_map_elem` callback gets.
    MapKey,
    /// In bounds, but of different kinds on different paths.
    Mixed,
}

impl Region {
    fn join(self, other: Region) -> Region {
        match (self, other) {
            (Region::MapValue { map: a }, Region::MapValue { map: b }) => Region::MapValue {
                map: if a == b { a } else { None },
            },
            (a, b) if a == b => a,
            _ => Region::Mixed,
        }
    }

    /// A short name (`stack`, `ctx`, `packet`, `map_value`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Region::Stack => "stack",
            Region::Ctx => "ctx",
            Region::Packet => "packet",
            Region::PacketMeta => "packet_meta",
            Region::MapValue { .. } => "map_value",
            Region::RingbufRecord => "ringbuf_record",
            Region::MapKey => "map_key",
            Region::Mixed => "mixed",
        }
    }
}

/// A memory access (`LDX`, `ST`, `STX`, atomic) of an accepted program:
/// always in bounds, into this region. `LD_ABS`/`LD_IND` have none (they
/// are checked when they run, and end the program when out of bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccessFact {
    pub region: Region,
}

/// The facts of one instruction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsnFacts {
    /// Each register the instruction reads (by number, `r10` included),
    /// with what is known of it.
    pub regs: Vec<(u8, RegFact)>,
    /// For memory accesses, where they go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessFact>,
}

/// What verification proved about each instruction, joined over every
/// execution, by slot index in the verified `ProgramDef`.
///
/// # Why the join over visits is sound
///
/// Exploration reaches an instruction many times, once per path that is not
/// pruned before it. [`Facts`] keeps, for each instruction, the join of the
/// abstract states it was *executed* in (recorded after the prune check, so
/// a state that was pruned at that instruction is not counted, and before
/// the instruction's own rules, so a visit is counted only if verification
/// then succeeds as a whole). Every concrete execution of an accepted
/// program is described by one of those states at every instruction it
/// executes: follow the execution along the explored path it takes; while it
/// is on a path that was explored, the state of that path at the
/// instruction describes it (each transfer and each branch refinement
/// over-approximates the concrete step). Where its path was pruned at a
/// join point, the state that pruned it covers the pruned state on every
/// register and stack slot that is live there — dead ones are never read
/// again before being written, so they cannot influence a read register's
/// value — and that covering state was itself explored on from that point
/// (completely, by the time verification succeeds: only complete states
/// prune, and a callsite revisited by a callback is covered by a visit
/// whose exploration continues), so the execution continues on *its*
/// paths, whose visits were recorded, and so on. Paths
/// widened at a callback's callsite only lose precision. So the join over
/// visits holds on every execution: a register that held the same constant
/// on every visit holds it in every run, a register whose upper 32 bits
/// were known zero on every visit has them zero in every run, and an access
/// that went into one region kind on every visit goes there in every run —
/// and, since every visit checked it, within bounds. An instruction never
/// visited is never executed.
///
/// Except for numbers in imprecise places: pruning compares a register or
/// stack slot whose number reaches no decision only by type, so the pruned
/// execution may carry there (and into whatever is computed from it) a
/// number no visit saw. [`crate::taint`] follows those places from every
/// pruning through the control-flow graph; register facts of what they may
/// reach are dropped (but for structural zero-extension). Access facts need
/// no such care: pointers are always compared by inclusion (kind, fixed
/// offset, variable offset and packet range covered, ids mapped
/// consistently), never as imprecise, so the pruned execution's pointer is
/// one the covering state described, and the region and bounds proven on
/// its visits hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// By slot index: `None` for the second slot of an `LD_IMM64` and for
    /// instructions never reached.
    insns: Vec<Option<InsnFacts>>,
    /// Slots of instructions no path reaches (dead code under branches
    /// whose outcome is known).
    unreachable: Vec<usize>,
}

impl Facts {
    /// What is known of `reg` when slot `pc` runs: [`RegFact::UNKNOWN`]
    /// when the instruction does not read it or is never reached.
    pub fn register(&self, pc: usize, reg: Reg) -> RegFact {
        self.reads(pc)
            .iter()
            .find(|(r, _)| *r as usize == reg.index())
            .map_or(RegFact::UNKNOWN, |(_, f)| *f)
    }

    /// Where the memory access at slot `pc` goes; `None` when it is not a
    /// memory access or never runs.
    pub fn access(&self, pc: usize) -> Option<AccessFact> {
        self.at(pc).and_then(|f| f.access)
    }

    /// The registers slot `pc` reads, with their facts.
    pub fn reads(&self, pc: usize) -> &[(u8, RegFact)] {
        self.at(pc).map_or(&[], |f| &f.regs)
    }

    /// All facts of slot `pc`, if it is a reachable instruction.
    pub fn at(&self, pc: usize) -> Option<&InsnFacts> {
        self.insns.get(pc).and_then(Option::as_ref)
    }

    /// Slots of the instructions no execution reaches.
    pub fn unreachable(&self) -> &[usize] {
        &self.unreachable
    }

    /// Whether some execution may run slot `pc`.
    pub fn is_reachable(&self, pc: usize) -> bool {
        self.at(pc).is_some()
    }

    /// Every reachable instruction's facts, by slot.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &InsnFacts)> {
        self.insns
            .iter()
            .enumerate()
            .filter_map(|(pc, f)| f.as_ref().map(|f| (pc, f)))
    }
}

/// Collects facts during exploration, by instruction index.
pub(crate) struct FactsBuilder {
    acc: Vec<Acc>,
    /// What each pruning let differ (see [`crate::taint`]).
    seeds: Vec<Seed>,
}

#[derive(Clone, Default)]
struct Acc {
    visited: bool,
    regs: Vec<(u8, RegFact)>,
    access: Option<Region>,
}

impl FactsBuilder {
    pub(crate) fn new(n: usize) -> FactsBuilder {
        FactsBuilder {
            acc: vec![Acc::default(); n],
            seeds: Vec::new(),
        }
    }

    /// One visit of instruction `i`: `regs` the facts of the registers it
    /// reads (always the same registers, in the same order), `access` the
    /// region of its memory access.
    pub(crate) fn visit(
        &mut self,
        i: usize,
        regs: impl Iterator<Item = (u8, RegFact)>,
        access: Option<Region>,
    ) {
        let a = &mut self.acc[i];
        if !a.visited {
            a.visited = true;
            a.regs = regs.collect();
            a.access = access;
            return;
        }
        for ((_, old), (_, new)) in a.regs.iter_mut().zip(regs) {
            *old = old.join(new);
        }
        a.access = match (a.access, access) {
            (Some(x), Some(y)) => Some(x.join(y)),
            (x, y) => x.or(y),
        };
    }

    /// A pruning let the places of `seed` hold numbers no visit saw.
    pub(crate) fn pruned(&mut self, seed: Seed) {
        self.seeds.push(seed);
    }

    /// The facts by slot (`slots` of them). Register facts of a register a
    /// pruning's imprecise places may flow into are dropped, but for a
    /// zero-extension every path establishes structurally.
    pub(crate) fn finish(self, cfg: &Cfg, slots: usize) -> Facts {
        let stack_access: Vec<bool> = self
            .acc
            .iter()
            .map(|a| matches!(a.access, Some(Region::Stack | Region::Mixed)))
            .collect();
        let tainted = taint::tainted_regs(cfg, &self.seeds, &stack_access);
        let zext = if self.seeds.is_empty() {
            Vec::new()
        } else {
            taint::structural_zext(cfg)
        };
        let mut insns = vec![None; slots];
        let mut unreachable = Vec::new();
        for (i, (mut a, &pc)) in self.acc.into_iter().zip(&cfg.pcs).enumerate() {
            if a.visited {
                for (r, fact) in &mut a.regs {
                    if *r < 10 && tainted[i] & (1 << *r) != 0 {
                        *fact = RegFact {
                            constant: None,
                            zext32: fact.zext32 && zext[i] & (1 << *r) != 0,
                        };
                    }
                }
                insns[pc] = Some(InsnFacts {
                    regs: a.regs,
                    access: a.access.map(|region| AccessFact { region }),
                });
            } else {
                unreachable.push(pc);
            }
        }
        Facts { insns, unreachable }
    }
}
