//! The native row: each program's `bench_NAME` compiled for the host at -O2
//! from the same C source (see `build.rs`), exposed as
//! `bench_native_NAME(data, len)`. It is the physical limit the eBPF
//! engines are measured against: what the computation costs when nothing
//! stands between it and the CPU.

/// A native benchmark function: reads `len` bytes at `data` and nothing
/// else of the caller's, and returns the result the eBPF program stores.
pub type NativeFn = unsafe extern "C" fn(data: *const u8, len: usize) -> u64;

/// Runs `f` on `frame`.
pub fn call(f: NativeFn, frame: &[u8]) -> u64 {
    // SAFETY: the benchmark functions read only [data, data + len), which
    // `frame` covers, and keep no pointer to it.
    unsafe { f(frame.as_ptr(), frame.len()) }
}

macro_rules! natives {
    ($($name:ident),* $(,)?) => {
        extern "C" {
            $(
                #[doc = concat!("`", stringify!($name), "` from `programs/c`, compiled for the host.")]
                pub fn $name(data: *const u8, len: usize) -> u64;
            )*
        }
    };
}

natives! {
    bench_native_fnv1a,
    bench_native_xxhash64,
    bench_native_jhash,
    bench_native_inet_csum,
    bench_native_crc32_bitwise,
    bench_native_crc32_table,
    bench_native_adler32,
    bench_native_fletcher32,
    bench_native_parse_flow,
    bench_native_parse_vlan,
    bench_native_parse_options,
    bench_native_memchr,
    bench_native_strsearch,
    bench_native_histogram,
    bench_native_popcount,
    bench_native_char_class,
    bench_native_http_state,
    bench_native_call_mix,
    bench_native_array_counters,
    bench_native_ktime_loop,
    bench_native_prandom_loop,
    bench_native_csum_diff_loop,
}
