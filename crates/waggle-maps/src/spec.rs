//! What a map is: type, sizes and flags, with Linux's numbers.

/// `enum bpf_map_type`, with Linux's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum MapType {
    Hash = 1,
    Array = 2,
    ProgArray = 3,
    PerfEventArray = 4,
    PercpuHash = 5,
    PercpuArray = 6,
    LruHash = 9,
    LruPercpuHash = 10,
    LpmTrie = 11,
    ArrayOfMaps = 12,
    HashOfMaps = 13,
    Queue = 22,
    Stack = 23,
    RingBuf = 27,
    BloomFilter = 30,
}

impl MapType {
    /// The type with Linux number `n`, if Waggle implements it.
    pub fn from_u32(n: u32) -> Option<MapType> {
        use MapType::*;
        Some(match n {
            1 => Hash,
            2 => Array,
            3 => ProgArray,
            4 => PerfEventArray,
            5 => PercpuHash,
            6 => PercpuArray,
            9 => LruHash,
            10 => LruPercpuHash,
            11 => LpmTrie,
            12 => ArrayOfMaps,
            13 => HashOfMaps,
            22 => Queue,
            23 => Stack,
            27 => RingBuf,
            30 => BloomFilter,
            _ => return None,
        })
    }

    /// Linux's name without the `BPF_MAP_TYPE_` prefix, lower case (as bpftool prints it).
    pub fn name(self) -> &'static str {
        use MapType::*;
        match self {
            Hash => "hash",
            Array => "array",
            ProgArray => "prog_array",
            PerfEventArray => "perf_event_array",
            PercpuHash => "percpu_hash",
            PercpuArray => "percpu_array",
            LruHash => "lru_hash",
            LruPercpuHash => "lru_percpu_hash",
            LpmTrie => "lpm_trie",
            ArrayOfMaps => "array_of_maps",
            HashOfMaps => "hash_of_maps",
            Queue => "queue",
            Stack => "stack",
            RingBuf => "ringbuf",
            BloomFilter => "bloom_filter",
        }
    }

    pub fn is_per_cpu(self) -> bool {
        matches!(
            self,
            MapType::PercpuArray | MapType::PercpuHash | MapType::LruPercpuHash
        )
    }
}

/// `map_flags` bits, with Linux's values.
pub struct MapFlags;

impl MapFlags {
    pub const NO_PREALLOC: u32 = 1 << 0;
    pub const NO_COMMON_LRU: u32 = 1 << 1;
    pub const NUMA_NODE: u32 = 1 << 2;
    pub const RDONLY: u32 = 1 << 3;
    pub const WRONLY: u32 = 1 << 4;
    pub const ZERO_SEED: u32 = 1 << 6;
    pub const RDONLY_PROG: u32 = 1 << 7;
    pub const WRONLY_PROG: u32 = 1 << 8;
    pub const MMAPABLE: u32 = 1 << 10;
    pub const PRESERVE_ELEMS: u32 = 1 << 11;
    pub const INNER_MAP: u32 = 1 << 12;
    /// `BPF_F_ACCESS_MASK`: the four access bits.
    pub const ACCESS_MASK: u32 =
        Self::RDONLY | Self::WRONLY | Self::RDONLY_PROG | Self::WRONLY_PROG;
}

/// Flags of update operations (`BPF_ANY`, ...), with Linux's values.
pub const BPF_ANY: u64 = 0;
pub const BPF_NOEXIST: u64 = 1;
pub const BPF_EXIST: u64 = 2;
pub const BPF_F_LOCK: u64 = 4;

/// `bpf_perf_event_output` flags: the low 32 bits select the map index;
/// `BPF_F_CURRENT_CPU` there means "the calling CPU's index".
pub const BPF_F_INDEX_MASK: u64 = 0xffff_ffff;
pub const BPF_F_CURRENT_CPU: u64 = BPF_F_INDEX_MASK;

/// Ring buffer submit/output flags.
pub const BPF_RB_NO_WAKEUP: u64 = 1;
pub const BPF_RB_FORCE_WAKEUP: u64 = 2;

/// `bpf_ringbuf_query` selectors.
pub const BPF_RB_AVAIL_DATA: u64 = 0;
pub const BPF_RB_RING_SIZE: u64 = 1;
pub const BPF_RB_CONS_POS: u64 = 2;
pub const BPF_RB_PROD_POS: u64 = 3;

/// A map's definition, as an object file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSpec {
    pub name: String,
    pub map_type: MapType,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
    /// For `BloomFilter`: the number of hash functions (`map_extra`, 1..=15; 0 means 5).
    pub map_extra: u64,
    /// Offset of a `struct bpf_spin_lock` inside the value, when it has one
    /// (learnt from BTF); `BPF_F_LOCK` updates need it.
    pub spin_lock_offset: Option<u32>,
    /// For map-in-map types: the definition every inner map must match.
    pub inner: Option<Box<MapSpec>>,
}
