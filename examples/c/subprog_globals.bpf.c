// SPDX-License-Identifier: GPL-2.0
/*
 * subprog_globals — a socket filter built from BPF-to-BPF calls and global
 * data: it accepts IPv4 packets whose header checksum is valid, truncated to
 * a per-protocol snap length, records an Internet checksum of each accepted
 * packet's first bytes, and drops the rest.
 *
 * Program: subprog_globals, section "socket" (BPF_PROG_TYPE_SOCKET_FILTER).
 *
 * Input view: like every socket filter the program sees the skb from its
 * network header: skb data starts at the IPv4 header and skb->len counts from
 * there. (BPF_PROG_TEST_RUN consumes the 14-byte Ethernet header of data_in
 * before running a socket filter, so with test runs data_in is an Ethernet
 * frame and skb->len = frame length - 14.)
 *
 * What it does (all offsets and lengths below are in that L3 view):
 *   1. packets_seen += 1.
 *   2. classify(): loads the first 20 bytes; the packet must be at least
 *      20 bytes long, have version 4 and ihl >= 5 and be at least ihl*4
 *      bytes long; else reason -1. ipv4_header_ok() then checks the
 *      Internet checksum of the ihl*4 header bytes (the one's complement sum
 *      must be 0xffff); else reason -2. The class is 1 for TCP (6), 2 for
 *      UDP (17), 3 for ICMP (1), 0 for any other protocol.
 *   3. A rejected packet (reason < 0): if the .rodata flag `verbose` is set
 *      (default 1), bpf_printk("subprog_globals: drop len=%u reason=%d\n",
 *      skb->len, reason) (a bpf_trace_printk call); packets_dropped += 1;
 *      returns 0 (drop).
 *   4. An accepted packet: payload_digest() = the Internet checksum (RFC 1071:
 *      ~ of the folded one's complement sum of 16-bit big-endian words, an odd
 *      last byte padded with a zero byte) of the first n = min(skb->len,
 *      digest_len) bytes, digest_len from .rodata (default 64, at most 64).
 *      last_digest = that value (as a __u16 in host byte order, e.g. 0xb1e6),
 *      last_class = class, packets_accepted += 1.
 *      Returns min(skb->len, snaplen[class]) with snaplen in .data:
 *      {64 other, 96 TCP, 128 UDP, 0xffff ICMP}.
 *
 * Call graph (all static __noinline, i.e. BPF-to-BPF calls):
 *   subprog_globals -> classify -> ipv4_header_ok -> csum_words, csum_fold
 *   subprog_globals -> payload_digest -> csum_words, csum_fold
 * (csum_words and csum_fold are each called from two places; the deepest
 * chain is 3 calls.)
 *
 * Maps (global data only, no .maps section):
 *   .rodata  const volatile __u32 digest_len = 64; const volatile __u8
 *            verbose = 1; and the bpf_printk format string
 *   .data    __u32 snaplen[4] = { 64, 96, 128, 0xffff }
 *   .bss     __u64 packets_seen, packets_accepted, packets_dropped;
 *            __u32 last_digest, last_class
 *   Layout of .bss as clang-19 emits it (llvm-objdump -t; clang does not keep
 *   declaration order, so look variables up by name in the symbol table or
 *   the BTF DATASEC): packets_seen @0, packets_dropped @8, last_digest @16,
 *   last_class @20, packets_accepted @24 (32 bytes). .rodata: digest_len @0,
 *   verbose @4, the printk format string @5 (40 bytes with its NUL).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_DIGEST_LEN 64

enum { CLASS_OTHER, CLASS_TCP, CLASS_UDP, CLASS_ICMP, CLASS_MAX };

/* .rodata: set by the application before load. */
const volatile __u32 digest_len = 64;
const volatile __u8 verbose = 1;

/* .data: may be changed by the application at any time. */
__u32 snaplen[CLASS_MAX] = { 64, 96, 128, 0xffff };

/* .bss */
__u64 packets_seen;
__u64 packets_accepted;
__u64 packets_dropped;
__u32 last_digest;
__u32 last_class;

/* One's complement sum of up to 32 16-bit words. */
static __noinline __u32 csum_words(const __u16 *buf, __u32 nwords)
{
	__u32 sum = 0;

	for (__u32 i = 0; i < MAX_DIGEST_LEN / 2; i++) {
		if (i >= nwords)
			break;
		sum += buf[i];
	}
	return sum;
}

static __noinline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Returns 1 if the ihl*4-byte header at offset 0 has a valid checksum. */
static __noinline int ipv4_header_ok(struct __sk_buff *skb, __u32 hdr_len)
{
	__u16 hdr[30] = {};

	barrier_var(hdr_len); /* keep the range check for the verifier */
	if (hdr_len < 20 || hdr_len > 60)
		return 0;
	if (bpf_skb_load_bytes(skb, 0, hdr, hdr_len))
		return 0;
	return csum_fold(csum_words(hdr, hdr_len / 2)) == 0xffff;
}

/* Returns the class (>= 0), or -1 (not IPv4 / too short), -2 (bad checksum). */
static __noinline int classify(struct __sk_buff *skb)
{
	struct iphdr iph;

	if (bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)))
		return -1;
	if (iph.version != 4 || iph.ihl < 5)
		return -1;
	if (skb->len < iph.ihl * 4u)
		return -1;
	if (!ipv4_header_ok(skb, iph.ihl * 4))
		return -2;

	switch (iph.protocol) {
	case IPPROTO_TCP:
		return CLASS_TCP;
	case IPPROTO_UDP:
		return CLASS_UDP;
	case IPPROTO_ICMP:
		return CLASS_ICMP;
	default:
		return CLASS_OTHER;
	}
}

/* Internet checksum of the first min(len, digest_len) bytes. */
static __noinline __u16 payload_digest(struct __sk_buff *skb)
{
	__u16 buf[MAX_DIGEST_LEN / 2] = {};
	__u32 n = digest_len;

	if (n > MAX_DIGEST_LEN)
		n = MAX_DIGEST_LEN;
	if (n > skb->len)
		n = skb->len;
	if (n == 0)
		return 0xffff;
	if (bpf_skb_load_bytes(skb, 0, buf, n))
		return 0;
	/* Bytes past n stay zero, which pads an odd tail as RFC 1071 asks. */
	return bpf_ntohs((__u16)~csum_fold(csum_words(buf, (n + 1) / 2)));
}

SEC("socket")
int subprog_globals(struct __sk_buff *skb)
{
	__u32 len = skb->len;
	__u32 snap;
	int class;

	__sync_fetch_and_add(&packets_seen, 1);

	class = classify(skb);
	if (class < 0 || class >= CLASS_MAX) {
		if (verbose)
			bpf_printk("subprog_globals: drop len=%u reason=%d\n", len, class);
		__sync_fetch_and_add(&packets_dropped, 1);
		return 0;
	}

	last_digest = payload_digest(skb);
	last_class = class;
	__sync_fetch_and_add(&packets_accepted, 1);

	snap = snaplen[class];
	return len < snap ? len : snap;
}

char LICENSE[] SEC("license") = "GPL";
