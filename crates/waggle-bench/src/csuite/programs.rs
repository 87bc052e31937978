//! The C suite's programs: eBPF objects compiled from `programs/c` (by
//! `programs/c/build.sh`; the objects are committed), each with the frame
//! it is measured on, its native function, and the map contents it needs.
//!
//! Every source is one function `bench_NAME(data, data_end)`; its entry
//! points are `xdp_NAME` (XDP, stores the result in `.bss` `result`) and,
//! for programs without maps and helpers, `raw_NAME` (an `sk_msg` program
//! whose context is the two packet pointers, for rbpf). `bench.h` explains
//! the conventions.

use super::frame::{FrameSpec, OPTIONS_1024, QINQ_V4_1024, TCP_1024};
use super::native::{self, NativeFn};
use serde::Serialize;

/// One program of the C suite. Only this module creates them.
#[derive(Debug, Serialize)]
pub struct CProgram {
    name: &'static str,
    category: Category,
    description: &'static str,
    #[serde(skip)]
    object: &'static [u8],
    frame: FrameSpec,
    #[serde(skip)]
    native: Native,
    #[serde(skip)]
    fill: Option<Fill>,
}

/// What a program mostly exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Hashing,
    Checksums,
    Parsing,
    Bytes,
    Loops,
    Branches,
    Calls,
    Maps,
    Helpers,
    /// One map operation per run (see [`MAP_OPS`]).
    MapOp,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Hashing => "hashing",
            Category::Checksums => "checksums",
            Category::Parsing => "parsing",
            Category::Bytes => "bytes",
            Category::Loops => "loops",
            Category::Branches => "branches",
            Category::Calls => "calls",
            Category::Maps => "maps",
            Category::Helpers => "helpers",
            Category::MapOp => "map op",
        }
    }
}

/// The host build of a program, or why it has none.
#[derive(Debug, Clone, Copy)]
pub enum Native {
    Available(NativeFn),
    /// The program uses something without an honest native equivalent.
    NotAvailable(&'static str),
}

/// Map contents a program expects before it runs. Every engine that has maps
/// applies it to the map named `map` through its own update call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Keys `0..count` (u32) with the u64 value `key * 0x9e3779b97f4a7c15`.
    Sequential { map: &'static str, count: u32 },
    /// IPv4 routes in an LPM trie with keys `{ u32 prefixlen; u32 addr }`
    /// and u32 values: 0.0.0.0/0 -> 0, 10.0.0.0/8 -> 8, 10.i.0.0/16 ->
    /// 0x1000 + i (i < 64), 10.i.j.0/24 -> 0x2000 + 4i + j (i < 64, j < 4).
    Routes { map: &'static str },
}

/// The value [`Fill::Sequential`] stores under `key`.
pub fn sequential_value(key: u32) -> u64 {
    u64::from(key).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The route [`Fill::Routes`] gives `addr` (host order), as an LPM lookup
/// finds it.
pub fn route_of(addr: u32) -> u32 {
    let [a, b, c, _] = addr.to_be_bytes();
    match (a, b, c) {
        (10, b, c) if b < 64 && c < 4 => 0x2000 + 4 * u32::from(b) + u32::from(c),
        (10, b, _) if b < 64 => 0x1000 + u32::from(b),
        (10, _, _) => 8,
        _ => 0,
    }
}

impl Fill {
    /// The map to fill.
    pub fn map(&self) -> &'static str {
        match *self {
            Fill::Sequential { map, .. } | Fill::Routes { map } => map,
        }
    }

    /// `(key, value)` pairs, in insertion order.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        match *self {
            Fill::Sequential { count, .. } => (0..count)
                .map(|k| {
                    (
                        k.to_le_bytes().to_vec(),
                        sequential_value(k).to_le_bytes().to_vec(),
                    )
                })
                .collect(),
            Fill::Routes { .. } => {
                let route = |prefixlen: u32, addr: [u8; 4], value: u32| {
                    let mut key = prefixlen.to_le_bytes().to_vec();
                    key.extend_from_slice(&addr);
                    (key, value.to_le_bytes().to_vec())
                };
                let mut entries = vec![route(0, [0; 4], 0), route(8, [10, 0, 0, 0], 8)];
                for i in 0..64u8 {
                    entries.push(route(16, [10, i, 0, 0], 0x1000 + u32::from(i)));
                    for j in 0..4u8 {
                        let value = 0x2000 + 4 * u32::from(i) + u32::from(j);
                        entries.push(route(24, [10, i, j, 0], value));
                    }
                }
                entries
            }
        }
    }
}

impl CProgram {
    /// Unique name: `NAME` of `NAME.bpf.c`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn category(&self) -> Category {
        self.category
    }

    /// One line on what the program does.
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// The compiled eBPF object (`NAME.bpf.o`).
    pub fn object(&self) -> &'static [u8] {
        self.object
    }

    /// The frame the program is measured on.
    pub fn frame(&self) -> FrameSpec {
        self.frame
    }

    pub fn native(&self) -> Native {
        self.native
    }

    pub fn fill(&self) -> Option<Fill> {
        self.fill
    }

    /// The XDP entry point every engine with XDP contexts runs.
    pub fn xdp_entry(&self) -> String {
        format!("xdp_{}", self.name)
    }

    /// The entry point for engines without XDP contexts, when there is one.
    pub fn raw_entry(&self) -> String {
        format!("raw_{}", self.name)
    }
}

macro_rules! object {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/programs/c/",
            $name,
            ".bpf.o"
        ))
    };
}

const NO_NATIVE_HASH: Native =
    Native::NotAvailable("a hash map has no native equivalent simple enough to be fair");
const NO_NATIVE_LPM: Native =
    Native::NotAvailable("an LPM trie has no native equivalent simple enough to be fair");

macro_rules! program {
    ($name:literal, $category:ident, $frame:expr, $native:expr, $fill:expr, $description:literal) => {
        CProgram {
            name: $name,
            category: Category::$category,
            description: $description,
            object: object!($name),
            frame: $frame,
            native: $native,
            fill: $fill,
        }
    };
    ($name:literal, $category:ident, $frame:expr, $native:ident, $description:literal) => {
        program!(
            $name,
            $category,
            $frame,
            Native::Available(native::$native as NativeFn),
            None,
            $description
        )
    };
}

/// The programs of the main table, in report order.
pub const PROGRAMS: &[CProgram] = &[
    program!(
        "fnv1a",
        Hashing,
        TCP_1024,
        bench_native_fnv1a,
        "64-bit FNV-1a of the frame, byte by byte"
    ),
    program!(
        "xxhash64",
        Hashing,
        TCP_1024,
        bench_native_xxhash64,
        "XXH64 of the frame: 4 lanes of 64-bit multiply-rotate rounds"
    ),
    program!(
        "jhash",
        Hashing,
        TCP_1024,
        bench_native_jhash,
        "lookup3 / kernel jhash of the frame, 12-byte blocks"
    ),
    program!(
        "inet_csum",
        Checksums,
        TCP_1024,
        bench_native_inet_csum,
        "Internet checksum (RFC 1071) of the frame, 16-bit words"
    ),
    program!(
        "crc32_bitwise",
        Checksums,
        TCP_1024,
        bench_native_crc32_bitwise,
        "CRC-32 of the first 256 bytes, bit by bit"
    ),
    program!(
        "crc32_table",
        Checksums,
        TCP_1024,
        bench_native_crc32_table,
        "CRC-32 of the frame with a 256-entry table in .rodata"
    ),
    program!(
        "adler32",
        Checksums,
        TCP_1024,
        bench_native_adler32,
        "Adler-32 (zlib) of the frame"
    ),
    program!(
        "fletcher32",
        Checksums,
        TCP_1024,
        bench_native_fletcher32,
        "Fletcher-32 of the frame, modulo 65535 per word"
    ),
    program!(
        "parse_flow",
        Parsing,
        TCP_1024,
        bench_native_parse_flow,
        "Ethernet/VLAN/IPv4/IPv6/TCP/UDP walk, 5-tuple flow hash"
    ),
    program!(
        "parse_vlan",
        Parsing,
        QINQ_V4_1024,
        bench_native_parse_vlan,
        "walk of up to 8 stacked VLAN tags (frame: QinQ)"
    ),
    program!(
        "parse_options",
        Parsing,
        OPTIONS_1024,
        bench_native_parse_options,
        "IPv4 and TCP option TLV walks (frame: both with options)"
    ),
    program!(
        "memchr",
        Bytes,
        TCP_1024,
        bench_native_memchr,
        "every newline of the L4 payload, byte by byte"
    ),
    program!(
        "strsearch",
        Bytes,
        TCP_1024,
        bench_native_strsearch,
        "search of the L4 payload for \"X-Trace:\""
    ),
    program!(
        "histogram",
        Bytes,
        TCP_1024,
        bench_native_histogram,
        "byte histogram of the frame in 64 stack counters"
    ),
    program!(
        "popcount",
        Loops,
        TCP_1024,
        bench_native_popcount,
        "Kernighan popcount of 32 words: data-dependent inner loops"
    ),
    program!(
        "char_class",
        Branches,
        TCP_1024,
        bench_native_char_class,
        "lexer-style switch on the first 512 payload bytes"
    ),
    program!(
        "http_state",
        Branches,
        TCP_1024,
        bench_native_http_state,
        "HTTP request-head state machine over the payload"
    ),
    program!(
        "call_mix",
        Calls,
        TCP_1024,
        bench_native_call_mix,
        "a __noinline call per 64-bit word, nested every 8th"
    ),
    program!(
        "flow_table",
        Maps,
        TCP_1024,
        NO_NATIVE_HASH,
        None,
        "hash map lookup + update of the packet's flow"
    ),
    program!(
        "array_counters",
        Maps,
        TCP_1024,
        bench_native_array_counters,
        "array map lookup + increment per byte, 128 bytes"
    ),
    program!(
        "lpm_route",
        Maps,
        TCP_1024,
        NO_NATIVE_LPM,
        Some(Fill::Routes { map: "routes" }),
        "LPM trie lookups of destination and source address"
    ),
    program!(
        "ktime_loop",
        Helpers,
        TCP_1024,
        bench_native_ktime_loop,
        "32 bpf_ktime_get_ns calls"
    ),
    program!(
        "prandom_loop",
        Helpers,
        TCP_1024,
        bench_native_prandom_loop,
        "32 bpf_get_prandom_u32 calls"
    ),
    program!(
        "csum_diff_loop",
        Helpers,
        TCP_1024,
        bench_native_csum_diff_loop,
        "bpf_csum_diff over the frame, one call per 32 bytes"
    ),
];

const NO_NATIVE_MAP_OP: Native =
    Native::NotAvailable("map operations are measured on the eBPF engines only");
const SEQUENTIAL: Option<Fill> = Some(Fill::Sequential {
    map: "table",
    count: 1024,
});

/// The map benchmarks: one map operation per run. [`MAP_OP_BASELINE`] does
/// everything the others do but the operation, so its time per run is
/// subtracted from theirs.
pub const MAP_OPS: &[CProgram] = &[
    program!(
        "mapop_none",
        MapOp,
        TCP_1024,
        NO_NATIVE_MAP_OP,
        None,
        "baseline: the key computation alone"
    ),
    program!(
        "mapop_hash_lookup",
        MapOp,
        TCP_1024,
        NO_NATIVE_MAP_OP,
        SEQUENTIAL,
        "hash map lookup (1024 entries, hit)"
    ),
    program!(
        "mapop_hash_update",
        MapOp,
        TCP_1024,
        NO_NATIVE_MAP_OP,
        SEQUENTIAL,
        "hash map update of an existing key"
    ),
    program!(
        "mapop_array_lookup",
        MapOp,
        TCP_1024,
        NO_NATIVE_MAP_OP,
        SEQUENTIAL,
        "array map lookup (1024 entries)"
    ),
    program!(
        "mapop_array_update",
        MapOp,
        TCP_1024,
        NO_NATIVE_MAP_OP,
        SEQUENTIAL,
        "array map update"
    ),
    program!(
        "mapop_lru_lookup",
        MapOp,
        TCP_1024,
        NO_NATIVE_MAP_OP,
        SEQUENTIAL,
        "LRU hash lookup (4096 entries, 1024 present, hit)"
    ),
    program!(
        "mapop_lru_update",
        MapOp,
        TCP_1024,
        NO_NATIVE_MAP_OP,
        SEQUENTIAL,
        "LRU hash update of an existing key"
    ),
    program!(
        "mapop_lpm_lookup",
        MapOp,
        TCP_1024,
        NO_NATIVE_MAP_OP,
        Some(Fill::Routes { map: "routes" }),
        "LPM trie lookup of the destination address"
    ),
];

/// The map benchmark whose time is the others' baseline.
pub const MAP_OP_BASELINE: &str = "mapop_none";

/// The programs of `list` whose name contains any of `filters` (all when
/// empty).
pub fn select<'a>(list: &'a [CProgram], filters: &[String]) -> Vec<&'a CProgram> {
    list.iter()
        .filter(|p| filters.is_empty() || filters.iter().any(|f| p.name.contains(f.as_str())))
        .collect()
}
