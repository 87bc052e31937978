//! eBPF maps with Linux semantics.
//!
//! Programs reach map values by pointer (as in Linux, `bpf_map_lookup_elem`
//! returns the address of the value itself), so every map keeps its values in
//! memory that does not move for the map's lifetime: elements are
//! preallocated and recycled, never freed while the map lives. The
//! application and any number of threads running programs may use a map at
//! once; each running thread passes its per-CPU slot number (`cpu`).
//!
//! Errors are Linux's: [`MapError::errno`] gives the negative errno a helper
//! returns to a program.
//!
//! # Map types
//!
//! | type | module | notes |
//! |---|---|---|
//! | array, percpu array | `array` | zeroed, `u32` index keys, never deleted |
//! | hash, percpu hash, LRU hash, LRU percpu hash | `hash` | preallocated slots, one `RwLock` index |
//! | LPM trie | `lpm` | longest-prefix match, Linux's post-order iteration |
//! | queue, stack | `queue` | push/pop/peek; `BPF_EXIST` drops the oldest |
//! | bloom filter | `bloom` | push/peek membership, lock-free bits |
//! | ring buffer | `ringbuf` | [`RingBuf`]: reserve/submit/discard/output/query, consume/drain/wait |
//! | perf event array | `perf` | [`PerfEventArray`]: output, drain, lost counts |
//! | prog array | `prog_array` | [`ProgArray::get`] for tail calls |
//! | array of maps, hash of maps | `map_in_map` | `set_inner`/`get_inner`/`inner_by_address` |
//!
//! Each module's documentation says where and why it departs from Linux.
//! In short:
//!
//! - Creation follows each type's `map_alloc_check`, plus a memory cap
//!   ([`MAX_MAP_BYTES`], 1 GiB per map; bigger maps fail with `ENOMEM`) that
//!   stands in for the memory cgroup Linux charges maps to. The access flags
//!   (`BPF_F_RDONLY`, `BPF_F_RDONLY_PROG`, ...) are validated but enforcing
//!   them is the loader's and verifier's business, as in Linux.
//! - Hash and LPM maps preallocate even with `BPF_F_NO_PREALLOC` (there is
//!   no RCU to free elements safely; untouched pages cost nothing).
//! - LRU eviction is a deterministic second-chance approximation that only
//!   evicts when a new key is inserted into a full map.
//! - Perf event arrays buffer events in the map instead of perf rings;
//!   prog arrays hold program ids; maps of maps hold `Arc<dyn Map>` set with
//!   `set_inner`, and keep replaced inner maps alive while the outer lives.
//!
//! # Concurrency
//!
//! Every operation takes `&self` and is safe from any thread. Map bookkeeping
//! (indexes, free lists, queues, ring positions) is protected by locks or
//! atomics. Value bytes are not: programs read and write them through the
//! pointers they got, concurrently with each other and with map updates,
//! exactly as in Linux, so programs that share counters must use atomic
//! instructions or `bpf_spin_lock`. The map's own copies use relaxed atomic
//! accesses, so a race gives at worst a torn value. `BPF_F_LOCK` updates and
//! lookups copy while holding the value's spin lock; [`spin_lock`] and
//! [`spin_unlock`] implement the lock-word protocol for the helpers.
//!
//! # Changes to the interface
//!
//! [`MapError`] gained [`MapError::NoSpace`] (`ENOSPC`, a full LPM trie or
//! perf buffer) and [`MapError::TryAgain`] (`EAGAIN`, `bpf_ringbuf_output`
//! on a full ring): Linux returns those errnos and helpers must pass them
//! on. [`MapFlags`] gained the remaining creation flags Linux checks. The
//! [`Map`] trait is unchanged.

mod spec;
pub use spec::{
    MapFlags, MapSpec, MapType, BPF_ANY, BPF_EXIST, BPF_F_CURRENT_CPU, BPF_F_INDEX_MASK,
    BPF_F_LOCK, BPF_NOEXIST, BPF_RB_AVAIL_DATA, BPF_RB_CONS_POS, BPF_RB_FORCE_WAKEUP,
    BPF_RB_NO_WAKEUP, BPF_RB_PROD_POS, BPF_RB_RING_SIZE,
};

mod error;
pub use error::MapError;

mod map;
pub use map::{create, map_address, validate, Map, MapOptions};

mod check;
pub use check::MAX_MAP_BYTES;

mod lock;
pub use lock::{spin_lock, spin_unlock};

mod region;

mod array;
pub use array::{ArrayLayout, ArrayMap};

mod hash;
pub use hash::HashMap;

mod lpm;
pub use lpm::LpmTrie;

mod queue;
pub use queue::QueueStack;

mod bloom;
pub use bloom::BloomFilter;

mod ringbuf;
pub use ringbuf::{RingBuf, BPF_RINGBUF_HDR_SZ};

mod perf;
pub use perf::{PerfEventArray, PERF_BUFFER_BYTES};

mod fd_slots;
mod prog_array;
pub use prog_array::ProgArray;

mod map_in_map;
pub use map_in_map::{ArrayOfMaps, HashOfMaps};
