/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench.h — what every benchmark program of the C suite shares.
 *
 * A program NAME.bpf.c is one function
 *
 *     static __always_inline __u64 bench_NAME(const __u8 *data, const __u8 *data_end)
 *
 * that computes a 64-bit result from the bytes [data, data_end), followed by
 * BENCH_PROGRAM(NAME), or BENCH_PROGRAM_NO_RAW(NAME) for a program that uses
 * maps or helpers. The same source compiles two ways:
 *
 * - For BPF (clang -target bpf), the macro defines the entry points:
 *     SEC("xdp")    int xdp_NAME(struct xdp_md *ctx)
 *         runs bench_NAME on the frame, stores the result in the .bss
 *         variable `result` and returns XDP_DROP (1) for an odd result,
 *         XDP_PASS (2) for an even one, so the work is observable twice over
 *         and cannot be optimised away. The verdict is computed without a
 *         branch: a branch on a result the verifier knows on some path makes
 *         it track every input of that result exactly, which stops it from
 *         pruning the paths of loops that computed it.
 *     SEC("sk_msg") int raw_NAME(struct bench_ctx *ctx)   (BENCH_PROGRAM only)
 *         the entry point for runtimes without XDP contexts (rbpf's
 *         EbpfVmMbuff): ctx holds the data and data_end pointers at offsets 0
 *         and 8. It is an sk_msg program because that is the program type
 *         whose context starts with exactly those two 64-bit packet pointers
 *         (struct sk_msg_md), so the kernel verifier checks its packet
 *         accesses as it does for XDP; a tracepoint's context holds plain
 *         numbers the verifier would not let a program dereference. It
 *         returns the result folded to 32 bits (r ^ r >> 32), as programs
 *         return an int.
 *
 * - For the host (cc -DBENCH_NATIVE), the macro defines
 *     __u64 bench_native_NAME(const __u8 *data, size_t len)
 *   calling the same bench_NAME, so the native row runs the same C. The
 *   helpers and the array map used by the programs get native stand-ins
 *   here, each the plain computation the kernel performs; programs using
 *   anything without an honest native equivalent (hash, LRU and LPM maps)
 *   guard their body with #ifndef BENCH_NATIVE and have no native row.
 */
#ifndef WAGGLE_BENCH_H
#define WAGGLE_BENCH_H

#ifdef BENCH_NATIVE

#include <stddef.h>
#include <string.h>
#include <time.h>
#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define __noinline __attribute__((noinline))

/* The kernel reads CLOCK_MONOTONIC; so does the native stand-in. */
static __always_inline __u64 bpf_ktime_get_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/*
 * The kernel's bpf_get_prandom_u32 steps a per-CPU Tausworthe generator
 * (prandom_u32_state, L'Ecuyer's lfsr113); so does this, per thread.
 */
static __thread __u32 bench_rnd[4] = { 0x12345678, 0x9abcdef0, 0x0fedcba9, 0x87654321 };

static __always_inline __u32 bpf_get_prandom_u32(void)
{
#define BENCH_TAUSWORTHE(s, a, b, c, d) ((((s) & (c)) << (d)) ^ ((((s) << (a)) ^ (s)) >> (b)))
	bench_rnd[0] = BENCH_TAUSWORTHE(bench_rnd[0], 6U, 13U, 4294967294U, 18U);
	bench_rnd[1] = BENCH_TAUSWORTHE(bench_rnd[1], 2U, 27U, 4294967288U, 2U);
	bench_rnd[2] = BENCH_TAUSWORTHE(bench_rnd[2], 13U, 21U, 4294967280U, 7U);
	bench_rnd[3] = BENCH_TAUSWORTHE(bench_rnd[3], 3U, 12U, 4294967168U, 13U);
#undef BENCH_TAUSWORTHE
	return bench_rnd[0] ^ bench_rnd[1] ^ bench_rnd[2] ^ bench_rnd[3];
}

/*
 * bpf_csum_diff as Linux (since 6.13) computes it: x86-64's csum_partial, a
 * 32-bit ones' complement sum of little-endian words (0 only when every word
 * is 0), of `to` minus that of `from`, folded to 16 bits.
 */
static __always_inline __u32 bench_csum_partial(const void *buf, __u32 len, __u32 seed)
{
	const __u8 *p = buf;
	__u64 total = seed;
	__u32 i, word;

	for (i = 0; i + 4 <= len; i += 4) {
		memcpy(&word, p + i, 4);
		total += word;
	}
	if (i < len) {
		word = 0;
		memcpy(&word, p + i, len - i);
		total += word;
	}
	return total ? (__u32)((total - 1) % 0xffffffffull + 1) : 0;
}

static __always_inline __s64 bpf_csum_diff(__be32 *from, __u32 from_size, __be32 *to,
					   __u32 to_size, __wsum seed)
{
	__u32 sum;

	if (from_size && to_size) {
		__u32 a = bench_csum_partial(to, to_size, seed);
		__u32 b = ~bench_csum_partial(from, from_size, 0);

		sum = a + b;
		sum += sum < b;
	} else if (to_size) {
		sum = bench_csum_partial(to, to_size, seed);
	} else if (from_size) {
		sum = ~bench_csum_partial(from, from_size, ~seed);
	} else {
		return seed;
	}
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum & 0xffff;
}

/*
 * An array map is a static array: lookups index it. Thread-local, so test
 * threads running a program at once do not race (a benchmark runs on one
 * thread, where this is one array like the map).
 */
#define BENCH_ARRAY_MAP(name, value_type, entries) static __thread value_type name[entries]

/* A variable programs store values in only so that computing them is not
 * dead code; thread-local for the same reason as the array map. */
#define BENCH_SINK(type, name) static __thread type name

#define bench_array_lookup(name, key)                                            \
	((__u32)(key) < sizeof(name) / sizeof((name)[0]) ? &(name)[(__u32)(key)] : NULL)

#define BENCH_NATIVE_ENTRY(name)                                                 \
	__u64 bench_native_##name(const __u8 *data, size_t len);                 \
	__u64 bench_native_##name(const __u8 *data, size_t len)                  \
	{                                                                        \
		return bench_##name(data, data + len);                           \
	}
#define BENCH_PROGRAM(name) BENCH_NATIVE_ENTRY(name)
#define BENCH_PROGRAM_NO_RAW(name) BENCH_NATIVE_ENTRY(name)

#else /* BPF */

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The last result of xdp_NAME, for runtimes to read back. */
__u64 result;

/* What raw_NAME receives: the mbuff of rbpf's EbpfVmMbuff. */
struct bench_ctx {
	__u64 data;
	__u64 data_end;
};

#define BENCH_ARRAY_MAP(name, value_type, entries)                               \
	struct {                                                                 \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                \
		__uint(max_entries, entries);                                    \
		__type(key, __u32);                                              \
		__type(value, value_type);                                       \
	} name SEC(".maps")
#define BENCH_SINK(type, name) static type name

#define bench_array_lookup(name, key)                                            \
	({                                                                       \
		__u32 bench_key_ = (key);                                        \
		bpf_map_lookup_elem(&(name), &bench_key_);                       \
	})

#define BENCH_XDP_ENTRY(name)                                                    \
	SEC("xdp") int xdp_##name(struct xdp_md *ctx)                            \
	{                                                                        \
		const __u8 *data = (const __u8 *)(long)ctx->data;                \
		const __u8 *data_end = (const __u8 *)(long)ctx->data_end;        \
		__u64 r = bench_##name(data, data_end);                          \
                                                                                 \
		result = r;                                                      \
		return XDP_PASS - (int)(r & 1);                                  \
	}
#define BENCH_RAW_ENTRY(name)                                                    \
	SEC("sk_msg") int raw_##name(struct bench_ctx *ctx)                      \
	{                                                                        \
		const __u8 *data = (const __u8 *)(long)ctx->data;                \
		const __u8 *data_end = (const __u8 *)(long)ctx->data_end;        \
		__u64 r = bench_##name(data, data_end);                          \
                                                                                 \
		return (int)(__u32)(r ^ (r >> 32));                              \
	}
/* A program rbpf can run: no maps, no helpers. */
#define BENCH_PROGRAM(name) BENCH_XDP_ENTRY(name) BENCH_RAW_ENTRY(name)
/* A program using maps or helpers: XDP only (and sk_msg programs may not
 * call every helper XDP programs may). */
#define BENCH_PROGRAM_NO_RAW(name) BENCH_XDP_ENTRY(name)

#endif /* BENCH_NATIVE */

/*
 * bench_opaque(x): hides x's value from the compiler's BPF optimisations
 * that the kernel verifier cannot follow: deriving a loop's trip count from
 * packet pointers (which turns into pointer arithmetic the verifier
 * prohibits), or selecting with a {0, -1} mask, which recent kernels (6.18
 * here) verify by forking the state on every such AND (2^8 paths per CRC
 * byte).
 * It emits no instruction. The host build leaves x alone: the native row
 * gets whatever the compiler makes of the plain C.
 */
#ifdef BENCH_NATIVE
#define bench_opaque(x) ((void)0)
#else
#define bench_opaque(x) asm volatile("" : "+r"(x))
#endif

/*
 * Little-endian loads of 2, 4 and 8 bytes at any alignment; p must be
 * bounds-checked. BPF loads need no alignment (and the kernel verifier allows
 * misaligned packet loads on x86-64), so a plain dereference gives one load
 * instruction; clang would split a memcpy into byte loads there. The host
 * build uses memcpy, which x86-64 compiles to one load too, without the
 * undefined behaviour of a misaligned dereference.
 */
#ifdef BENCH_NATIVE
#define BENCH_LOAD(bits)                                                         \
	static __always_inline __u##bits bench_load##bits(const __u8 *p)         \
	{                                                                        \
		__u##bits v;                                                     \
		memcpy(&v, p, sizeof(v));                                        \
		return v;                                                        \
	}
#else
#define BENCH_LOAD(bits)                                                         \
	static __always_inline __u##bits bench_load##bits(const __u8 *p)         \
	{                                                                        \
		return *(const __u##bits *)p;                                    \
	}
#endif
BENCH_LOAD(16)
BENCH_LOAD(32)
BENCH_LOAD(64)
#undef BENCH_LOAD

/* Big-endian (network order) 16- and 32-bit fields; p must be bounds-checked. */
static __always_inline __u32 bench_be16(const __u8 *p)
{
	return ((__u32)p[0] << 8) | p[1];
}

static __always_inline __u32 bench_be32(const __u8 *p)
{
	return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

static __always_inline __u64 bench_rotl64(__u64 x, unsigned int r)
{
	return (x << r) | (x >> (64 - r));
}

static __always_inline __u32 bench_rotl32(__u32 x, unsigned int r)
{
	return (x << r) | (x >> (32 - r));
}

/* The longest frame a program walks: a 1500-byte MTU plus Ethernet and two
 * VLAN tags. Loops over the frame stop at data_end or after this many bytes,
 * the bound the kernel verifier needs. */
#define BENCH_MAX_FRAME 1536

/*
 * Offset of the L4 payload in an Ethernet frame with up to two VLAN tags,
 * IPv4 (with options) or IPv6 (no extension headers), and TCP (with
 * options) or UDP, below 256; -1 for anything else or a truncated header.
 * Programs that look at the application bytes start there.
 */
static __always_inline int bench_payload_offset(const __u8 *data, const __u8 *data_end)
{
	__u32 off = 14, proto, l4, noise, i;

	if (data + 14 > data_end)
		return -1;
	proto = bench_be16(data + 12);
	for (i = 0; i < 2; i++) {
		if (proto != 0x8100 && proto != 0x88a8)
			break;
		if (data + off + 4 > data_end)
			return -1;
		proto = bench_be16(data + off + 2);
		off += 4;
	}
	if (proto == 0x0800) {
		const __u8 *ip = data + off;

		if (ip + 20 > data_end)
			return -1;
		l4 = ip[9];
		off += (ip[0] & 0xf) * 4;
	} else if (proto == 0x86dd) {
		const __u8 *ip6 = data + off;

		if (ip6 + 40 > data_end)
			return -1;
		l4 = ip6[6];
		off += 40;
	} else {
		return -1;
	}
	if (l4 == 6) {
		const __u8 *tcp = data + off;

		if (tcp + 20 > data_end)
			return -1;
		off += (tcp[12] >> 4) * 4;
	} else if (l4 == 17) {
		off += 8;
	} else {
		return -1;
	}
	/*
	 * Each way through the headers above gives its own offset, and the
	 * kernel verifier would walk the caller's payload loop once per way.
	 * Xoring in a packet byte twice leaves the offset as it is but tells
	 * the verifier only that it is below 256, so it walks the loop once.
	 */
	noise = data[0];
	bench_opaque(noise);
	off ^= noise;
	bench_opaque(off);
	off ^= noise;
	return off & 0xff;
}

#endif /* WAGGLE_BENCH_H */
