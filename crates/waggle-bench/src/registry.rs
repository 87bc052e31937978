//! The benchmark programs: uBPF-syntax sources under `programs/`, each with
//! the input memory it runs on and the `r0` it must return.
//!
//! Conventions every program follows, so that every runtime can run it the
//! same way:
//!
//! - The input memory's address is in `r1`. Its length is fixed per program
//!   and written into the source: rbpf's raw VM leaves `r2` at zero, so `r2`
//!   cannot carry it.
//! - No helper calls: helpers would measure the host's helper ABI, not the
//!   interpreter, and each runtime registers helpers differently.
//! - The input is never written, so every run sees the same input and returns
//!   the same `r0`.
//! - Only what rbpf's interpreter runs as RFC 9669 specifies, so that the
//!   comparison covers every program. The rbpf backend reports instructions it
//!   runs differently as "n/a" (signed division, sign-extending moves,
//!   negative immediates in unsigned 64-bit compares, legacy packet loads,
//!   backward local calls). Two rules it cannot check before running: no
//!   division or modulo by zero, and at most 256 bytes of stack per function
//!   when a program makes local calls (rbpf gives a callee the lower half of
//!   its 512-byte stack).
//!
//! Each `expected` value is computed independently by a Rust model of the
//! program in this crate's tests.

use serde::Serialize;
use waggle_isa::{assemble, encode_program, AsmError, Syntax};

/// One benchmark program.
///
/// Only this module creates them (the fields are private), so every program
/// that reaches a backend is one of [`BENCHES`] (or a test's program):
/// reviewed code that touches only its stack and its input. The unchecked
/// backend relies on that.
#[derive(Debug, Serialize)]
pub struct Bench {
    name: &'static str,
    category: Category,
    description: &'static str,
    #[serde(skip)]
    source: &'static str,
    input: InputSpec,
    expected: u64,
}

/// What a program mostly exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Loops,
    Arithmetic,
    Memory,
    Branches,
    Calls,
}

/// The input memory of a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputSpec {
    /// No memory: `r1` is zero.
    Empty,
    /// `len` pseudo-random bytes from [`random_bytes`] seeded with `seed`.
    Random { len: usize, seed: u64 },
}

impl InputSpec {
    /// The input bytes; the same on every call.
    pub fn bytes(self) -> Vec<u8> {
        match self {
            InputSpec::Empty => Vec::new(),
            InputSpec::Random { len, seed } => random_bytes(len, seed),
        }
    }
}

/// Deterministic pseudo-random bytes (splitmix64), so inputs need no files
/// and the Rust models in the tests can rebuild them.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The 1 KiB input of the memory-reading programs.
const KIB: InputSpec = InputSpec::Random {
    len: 1024,
    seed: 0x5741_4747_4c45,
};

impl Bench {
    /// Short unique name, used to filter and in reports.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// What the program stresses, for grouping rows.
    pub fn category(&self) -> Category {
        self.category
    }

    /// One line on what the program computes.
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// Program text in uBPF syntax.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// The memory passed in `r1`.
    pub fn input(&self) -> InputSpec {
        self.input
    }

    /// The `r0` every runtime must return.
    pub fn expected(&self) -> u64 {
        self.expected
    }

    /// Assembles the program.
    pub fn compile(&'static self) -> Result<Compiled, AsmError> {
        Ok(Compiled {
            bench: self,
            bytecode: encode_program(&assemble(self.source, Syntax::Ubpf)?),
        })
    }
}

#[cfg(test)]
impl Bench {
    /// A program outside the registry, for tests of the suite's machinery.
    pub(crate) fn leak_for_test(
        name: &'static str,
        source: &'static str,
        expected: u64,
    ) -> &'static Bench {
        Box::leak(Box::new(Bench {
            name,
            category: Category::Loops,
            description: "test program",
            source,
            input: InputSpec::Empty,
            expected,
        }))
    }
}

/// A benchmark program assembled to bytecode. The fields are private so the
/// bytecode is always the assembly of `bench`'s source.
#[derive(Debug)]
pub struct Compiled {
    bench: &'static Bench,
    bytecode: Vec<u8>,
}

impl Compiled {
    pub fn bench(&self) -> &'static Bench {
        self.bench
    }

    /// Raw little-endian eBPF bytecode.
    pub fn bytecode(&self) -> &[u8] {
        &self.bytecode
    }
}

macro_rules! program {
    ($name:literal) => {
        include_str!(concat!("../programs/", $name, ".asm"))
    };
}

/// Every benchmark program, in report order.
pub const BENCHES: &[Bench] = &[
    Bench {
        name: "count_loop",
        category: Category::Loops,
        description: "sum of 0..3000 in a 3-instruction loop",
        source: program!("count_loop"),
        input: InputSpec::Empty,
        expected: 4_498_500,
    },
    Bench {
        name: "nested_loop",
        category: Category::Loops,
        description: "40x40 nested loops summing (i * j) ^ j",
        source: program!("nested_loop"),
        input: InputSpec::Empty,
        expected: 608_144,
    },
    Bench {
        name: "xorshift_mix",
        category: Category::Arithmetic,
        description: "250 xorshift64 steps, each mixed by MurmurHash3 fmix64",
        source: program!("xorshift_mix"),
        input: InputSpec::Empty,
        expected: 0x41b1_6144_01f2_8741,
    },
    Bench {
        name: "digit_sum",
        category: Category::Arithmetic,
        description: "decimal digit sums via div/mod by 10, 200 numbers",
        source: program!("digit_sum"),
        input: InputSpec::Empty,
        expected: 4206,
    },
    Bench {
        name: "gcd",
        category: Category::Arithmetic,
        description: "Euclid's gcd (mod by register) on 100 pairs",
        source: program!("gcd"),
        input: InputSpec::Empty,
        expected: 0x4fd_0000_016e,
    },
    Bench {
        name: "crc32",
        category: Category::Arithmetic,
        description: "bitwise CRC-32 over 128 input bytes, 32-bit ALU",
        source: program!("crc32"),
        input: KIB,
        expected: 0x7669_7dc2,
    },
    Bench {
        name: "byte_checksum",
        category: Category::Memory,
        description: "Fletcher-style checksum over 1 KiB, byte loads",
        source: program!("byte_checksum"),
        input: KIB,
        expected: 0x03f4_953c_0001_f9fa,
    },
    Bench {
        name: "sum_u64",
        category: Category::Memory,
        description: "8 passes summing 1 KiB as 64-bit words",
        source: program!("sum_u64"),
        input: KIB,
        expected: 0x91ad_0985_8cd2_6780,
    },
    Bench {
        name: "stack_memcpy",
        category: Category::Memory,
        description: "6 rounds: 256 B input->stack (8-byte), stack->stack (1-byte)",
        source: program!("stack_memcpy"),
        input: KIB,
        expected: 0x3c4c_f3ca_20f3_3b18,
    },
    Bench {
        name: "sieve",
        category: Category::Branches,
        description: "sieve of Eratosthenes below 512, byte flags on the stack",
        source: program!("sieve"),
        input: InputSpec::Empty,
        expected: 0x61_0000_5814,
    },
    Bench {
        name: "switch_dispatch",
        category: Category::Branches,
        description: "16-case jeq chain selected by 512 input bytes",
        source: program!("switch_dispatch"),
        input: KIB,
        expected: 0x832c_8cd8_6633_30a6,
    },
    Bench {
        name: "call_loop",
        category: Category::Calls,
        description: "300 iterations of 2 nested bpf-to-bpf calls",
        source: program!("call_loop"),
        input: InputSpec::Empty,
        expected: 0x2a31_9a1d_f73b_87c8,
    },
];

/// The programs whose name contains any of `filters` (all when empty).
pub fn select(filters: &[String]) -> Vec<&'static Bench> {
    BENCHES
        .iter()
        .filter(|b| filters.is_empty() || filters.iter().any(|f| b.name.contains(f.as_str())))
        .collect()
}
