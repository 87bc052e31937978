//! Helper prototypes: what each helper takes and returns, which program
//! types may call it and which maps it accepts, as Linux's `bpf_func_proto`
//! tables say.

use waggle_analysis::context::CtxKind;
use waggle_analysis::helper_names::helper_name;

/// An argument kind (Linux's `ARG_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// Any initialised value.
    Anything,
    /// A map (`ARG_CONST_MAP_PTR`).
    MapPtr,
    /// `key_size` readable bytes of the map given before (`ARG_PTR_TO_MAP_KEY`).
    MapKey,
    /// `value_size` readable bytes (`ARG_PTR_TO_MAP_VALUE`).
    MapValue,
    /// `value_size` writable bytes, initialised by the helper.
    MapValueOut,
    /// The unmodified context pointer (`ARG_PTR_TO_CTX`).
    Ctx,
    /// Memory whose size is the next argument: read by the helper, or
    /// written (`ARG_PTR_TO_UNINIT_MEM`); `nullable`: NULL with size 0 is
    /// accepted (`PTR_MAYBE_NULL`).
    Mem { write: bool, nullable: bool },
    /// The size of the memory argument before (`ARG_CONST_SIZE`,
    /// `ARG_CONST_SIZE_OR_ZERO`).
    Size { zero_ok: bool },
    /// A constant allocation size (`ARG_CONST_ALLOC_SIZE_OR_ZERO`).
    AllocSize,
    /// A ring buffer record to release (`ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE`).
    RingbufRecord,
}

/// What a helper returns in `r0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    Integer,
    /// A value of the map argument, or NULL.
    MapValueOrNull,
    /// A ring buffer record of the allocation size, or NULL; a reference
    /// the program must release.
    RingbufRecordOrNull,
    /// Nothing: `r0` is left uninitialised.
    Void,
}

/// Which program types may call a helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Avail {
    /// Every program type (Linux's `bpf_base_func_proto`, privileged).
    All,
    /// Tracing programs (kprobes, tracepoints, ...).
    Tracing,
    /// Every program type but tracing ones.
    NotTracing,
    /// XDP and TC.
    XdpTc,
    Xdp,
    /// TC and socket filters (`struct __sk_buff` programs).
    Skb,
    Tc,
}

impl Avail {
    pub fn allows(self, ctx: CtxKind) -> bool {
        match self {
            Avail::All => true,
            Avail::Tracing => ctx == CtxKind::Raw,
            Avail::NotTracing => ctx != CtxKind::Raw,
            Avail::XdpTc => matches!(ctx, CtxKind::Xdp | CtxKind::SkbTc),
            Avail::Xdp => ctx == CtxKind::Xdp,
            Avail::Skb => matches!(ctx, CtxKind::SkbTc | CtxKind::SkbSocket),
            Avail::Tc => ctx == CtxKind::SkbTc,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Avail::All => "every program type",
            Avail::Tracing => "tracing programs",
            Avail::NotTracing => "every program type but tracing programs",
            Avail::XdpTc => "XDP and TC programs",
            Avail::Xdp => "XDP programs",
            Avail::Skb => "TC and socket filter programs",
            Avail::Tc => "TC programs",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Proto {
    pub id: u32,
    pub args: &'static [Arg],
    pub ret: Ret,
    pub avail: Avail,
    /// Map types the map argument may have (empty: no map argument).
    pub maps: &'static [u32],
    /// The helper may move or resize packet data, so packet pointers are
    /// invalid after it.
    pub changes_packet: bool,
}

/// Linux map type numbers.
pub mod map_type {
    pub const HASH: u32 = 1;
    pub const ARRAY: u32 = 2;
    pub const PROG_ARRAY: u32 = 3;
    pub const PERF_EVENT_ARRAY: u32 = 4;
    pub const PERCPU_HASH: u32 = 5;
    pub const PERCPU_ARRAY: u32 = 6;
    pub const LRU_HASH: u32 = 9;
    pub const LRU_PERCPU_HASH: u32 = 10;
    pub const LPM_TRIE: u32 = 11;
    pub const ARRAY_OF_MAPS: u32 = 12;
    pub const HASH_OF_MAPS: u32 = 13;
    pub const DEVMAP: u32 = 14;
    pub const CPUMAP: u32 = 16;
    pub const XSKMAP: u32 = 17;
    pub const QUEUE: u32 = 22;
    pub const STACK: u32 = 23;
    pub const DEVMAP_HASH: u32 = 25;
    pub const RINGBUF: u32 = 27;
    pub const BLOOM_FILTER: u32 = 30;

    pub fn name(t: u32) -> String {
        let n = match t {
            HASH => "hash",
            ARRAY => "array",
            PROG_ARRAY => "prog_array",
            PERF_EVENT_ARRAY => "perf_event_array",
            PERCPU_HASH => "percpu_hash",
            PERCPU_ARRAY => "percpu_array",
            LRU_HASH => "lru_hash",
            LRU_PERCPU_HASH => "lru_percpu_hash",
            LPM_TRIE => "lpm_trie",
            ARRAY_OF_MAPS => "array_of_maps",
            HASH_OF_MAPS => "hash_of_maps",
            DEVMAP => "devmap",
            CPUMAP => "cpumap",
            XSKMAP => "xskmap",
            QUEUE => "queue",
            STACK => "stack",
            DEVMAP_HASH => "devmap_hash",
            RINGBUF => "ringbuf",
            BLOOM_FILTER => "bloom_filter",
            _ => return format!("type {t}"),
        };
        n.to_string()
    }
}

use map_type::*;

/// Maps holding values programs read and write in place.
const DATA_MAPS: &[u32] = &[
    HASH,
    ARRAY,
    PERCPU_HASH,
    PERCPU_ARRAY,
    LRU_HASH,
    LRU_PERCPU_HASH,
    LPM_TRIE,
];
const QUEUES: &[u32] = &[QUEUE, STACK];
const PUSH_MAPS: &[u32] = &[QUEUE, STACK, BLOOM_FILTER];
const REDIRECT_MAPS: &[u32] = &[DEVMAP, DEVMAP_HASH, CPUMAP, XSKMAP];

use Arg::*;

const fn p(
    id: u32,
    args: &'static [Arg],
    ret: Ret,
    avail: Avail,
    maps: &'static [u32],
    changes_packet: bool,
) -> Proto {
    Proto {
        id,
        args,
        ret,
        avail,
        maps,
        changes_packet,
    }
}

const NONE: &[u32] = &[];
const READ: Arg = Mem {
    write: false,
    nullable: false,
};
const WRITE: Arg = Mem {
    write: true,
    nullable: false,
};
const SIZE: Arg = Size { zero_ok: false };
const SIZE0: Arg = Size { zero_ok: true };

/// The helpers the verifier knows, by Linux id.
const PROTOS: &[Proto] = &[
    p(
        1,
        &[MapPtr, MapKey],
        Ret::MapValueOrNull,
        Avail::All,
        DATA_MAPS,
        false,
    ),
    p(
        2,
        &[MapPtr, MapKey, MapValue, Anything],
        Ret::Integer,
        Avail::All,
        DATA_MAPS,
        false,
    ),
    p(
        3,
        &[MapPtr, MapKey],
        Ret::Integer,
        Avail::All,
        DATA_MAPS,
        false,
    ),
    p(
        4,
        &[WRITE, SIZE0, Anything],
        Ret::Integer,
        Avail::Tracing,
        NONE,
        false,
    ),
    p(5, &[], Ret::Integer, Avail::All, NONE, false),
    // Linux checks only the format; r3-r5 are passed unchecked.
    p(6, &[READ, SIZE], Ret::Integer, Avail::All, NONE, false),
    p(7, &[], Ret::Integer, Avail::All, NONE, false),
    p(8, &[], Ret::Integer, Avail::All, NONE, false),
    p(
        9,
        &[Ctx, Anything, READ, SIZE, Anything],
        Ret::Integer,
        Avail::Tc,
        NONE,
        true,
    ),
    p(
        10,
        &[Ctx, Anything, Anything, Anything, Anything],
        Ret::Integer,
        Avail::Tc,
        NONE,
        true,
    ),
    p(
        11,
        &[Ctx, Anything, Anything, Anything, Anything],
        Ret::Integer,
        Avail::Tc,
        NONE,
        true,
    ),
    p(
        12,
        &[Ctx, MapPtr, Anything],
        Ret::Void,
        Avail::All,
        &[PROG_ARRAY],
        false,
    ),
    p(
        13,
        &[Ctx, Anything, Anything],
        Ret::Integer,
        Avail::Tc,
        NONE,
        true,
    ),
    // The current task's ids and name: every program type (Linux's
    // `bpf_base_func_proto` since 6.10).
    p(14, &[], Ret::Integer, Avail::All, NONE, false),
    p(15, &[], Ret::Integer, Avail::All, NONE, false),
    p(16, &[WRITE, SIZE], Ret::Integer, Avail::All, NONE, false),
    p(
        23,
        &[Anything, Anything],
        Ret::Integer,
        Avail::XdpTc,
        NONE,
        false,
    ),
    p(
        25,
        &[Ctx, MapPtr, Anything, READ, SIZE0],
        Ret::Integer,
        Avail::All,
        &[PERF_EVENT_ARRAY],
        false,
    ),
    p(
        26,
        &[Ctx, Anything, WRITE, SIZE],
        Ret::Integer,
        Avail::Skb,
        NONE,
        false,
    ),
    p(
        28,
        &[
            Mem {
                write: false,
                nullable: true,
            },
            SIZE0,
            Mem {
                write: false,
                nullable: true,
            },
            SIZE0,
            Anything,
        ],
        Ret::Integer,
        Avail::XdpTc,
        NONE,
        false,
    ),
    p(34, &[Ctx], Ret::Integer, Avail::Tc, NONE, false),
    p(
        38,
        &[Ctx, Anything, Anything],
        Ret::Integer,
        Avail::Tc,
        NONE,
        true,
    ),
    p(39, &[Ctx, Anything], Ret::Integer, Avail::Tc, NONE, true),
    p(42, &[], Ret::Integer, Avail::All, NONE, false),
    p(
        43,
        &[Ctx, Anything, Anything],
        Ret::Integer,
        Avail::Tc,
        NONE,
        true,
    ),
    p(44, &[Ctx, Anything], Ret::Integer, Avail::Xdp, NONE, true),
    p(
        45,
        &[WRITE, SIZE0, Anything],
        Ret::Integer,
        Avail::Tracing,
        NONE,
        false,
    ),
    p(
        51,
        &[MapPtr, Anything, Anything],
        Ret::Integer,
        Avail::Xdp,
        REDIRECT_MAPS,
        false,
    ),
    p(54, &[Ctx, Anything], Ret::Integer, Avail::Xdp, NONE, true),
    p(65, &[Ctx, Anything], Ret::Integer, Avail::Xdp, NONE, true),
    p(
        87,
        &[MapPtr, MapValue, Anything],
        Ret::Integer,
        Avail::All,
        PUSH_MAPS,
        false,
    ),
    p(
        88,
        &[MapPtr, MapValueOut],
        Ret::Integer,
        Avail::All,
        QUEUES,
        false,
    ),
    p(
        89,
        &[MapPtr, MapValueOut],
        Ret::Integer,
        Avail::All,
        QUEUES,
        false,
    ),
    p(
        112,
        &[WRITE, SIZE0, Anything],
        Ret::Integer,
        Avail::All,
        NONE,
        false,
    ),
    p(
        113,
        &[WRITE, SIZE0, Anything],
        Ret::Integer,
        Avail::All,
        NONE,
        false,
    ),
    p(
        114,
        &[WRITE, SIZE0, Anything],
        Ret::Integer,
        Avail::All,
        NONE,
        false,
    ),
    p(
        115,
        &[WRITE, SIZE0, Anything],
        Ret::Integer,
        Avail::All,
        NONE,
        false,
    ),
    p(118, &[], Ret::Integer, Avail::All, NONE, false),
    p(125, &[], Ret::Integer, Avail::All, NONE, false),
    p(
        130,
        &[MapPtr, READ, SIZE0, Anything],
        Ret::Integer,
        Avail::All,
        &[RINGBUF],
        false,
    ),
    p(
        131,
        &[MapPtr, AllocSize, Anything],
        Ret::RingbufRecordOrNull,
        Avail::All,
        &[RINGBUF],
        false,
    ),
    p(
        132,
        &[RingbufRecord, Anything],
        Ret::Void,
        Avail::All,
        NONE,
        false,
    ),
    p(
        133,
        &[RingbufRecord, Anything],
        Ret::Void,
        Avail::All,
        NONE,
        false,
    ),
    p(
        134,
        &[MapPtr, Anything],
        Ret::Integer,
        Avail::All,
        &[RINGBUF],
        false,
    ),
    // bpf_ktime_get_coarse_ns: not for tracing programs.
    p(160, &[], Ret::Integer, Avail::NotTracing, NONE, false),
    p(188, &[Ctx], Ret::Integer, Avail::Xdp, NONE, false),
    p(
        189,
        &[Ctx, Anything, WRITE, SIZE],
        Ret::Integer,
        Avail::Xdp,
        NONE,
        false,
    ),
    p(
        190,
        &[Ctx, Anything, READ, SIZE],
        Ret::Integer,
        Avail::Xdp,
        NONE,
        false,
    ),
    p(208, &[], Ret::Integer, Avail::All, NONE, false),
];

pub fn proto(id: u32) -> Option<&'static Proto> {
    PROTOS.iter().find(|p| p.id == id)
}

/// The helper's name for messages (`bpf_map_lookup_elem`), or its id.
pub fn name(id: u32) -> String {
    match helper_name(id) {
        Some(n) => n.to_string(),
        None => format!("helper #{id}"),
    }
}

/// `bpf_trace_printk`.
pub const TRACE_PRINTK: u32 = 6;
/// `bpf_for_each_map_elem`.
pub const FOR_EACH_MAP_ELEM: u32 = 164;
/// `bpf_loop`.
pub const LOOP: u32 = 181;

/// Helpers that call a callback function of the program (checked by the
/// verifier's `callback_call`, not by a prototype).
pub fn takes_callback(id: u32) -> bool {
    matches!(id, FOR_EACH_MAP_ELEM | LOOP)
}

/// Maps `bpf_for_each_map_elem` walks.
pub const FOR_EACH_MAPS: &[u32] = &[
    HASH,
    ARRAY,
    PERCPU_HASH,
    PERCPU_ARRAY,
    LRU_HASH,
    LRU_PERCPU_HASH,
];

/// Helpers Linux has that this verifier does not check yet, with why.
pub fn unsupported_reason(id: u32) -> Option<&'static str> {
    Some(match id {
        93 | 94 => "bpf_spin_lock is not supported by the verifier yet",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prototype_names_a_linux_helper_once() {
        for (i, p) in PROTOS.iter().enumerate() {
            assert!(helper_name(p.id).is_some(), "id {}", p.id);
            assert!(
                PROTOS[..i].iter().all(|q| q.id != p.id),
                "id {} twice",
                p.id
            );
            // A size argument always follows a memory argument.
            for (k, a) in p.args.iter().enumerate() {
                if let Size { .. } = a {
                    assert!(matches!(p.args[k - 1], Mem { .. }), "{}", name(p.id));
                }
                if let Mem { .. } = a {
                    assert!(
                        matches!(p.args.get(k + 1), Some(Size { .. })),
                        "{}",
                        name(p.id)
                    );
                }
            }
        }
        assert_eq!(name(131), "bpf_ringbuf_reserve");
        assert_eq!(name(28), "bpf_csum_diff");
    }
}
