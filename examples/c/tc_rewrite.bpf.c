// SPDX-License-Identifier: GPL-2.0
/*
 * tc_rewrite — send DNS queries to a local resolver by rewriting them (DNAT).
 *
 * Program: tc_rewrite, section "tc" (BPF_PROG_TYPE_SCHED_CLS), for a tc
 * clsact hook (ingress or egress, direct-action mode).
 *
 * What it does: for an IPv4 UDP datagram (EtherType 0x0800, protocol 17,
 * not a fragment: MF clear and fragment offset 0) with destination port 53:
 *   - IPv4 destination address <- dns_addr (default 10.0.0.53)
 *   - UDP destination port     <- dns_port (default 5353)
 *   - IPv4 header checksum updated with bpf_l3_csum_replace();
 *   - UDP checksum updated with bpf_l4_csum_replace(), for the address with
 *     BPF_F_PSEUDO_HDR (it is part of the pseudo-header) and for the port,
 *     both with BPF_F_MARK_MANGLED_0: a UDP checksum of 0 (none) stays 0, an
 *     updated checksum that comes out as 0 is written as 0xffff;
 *   - the new address and port are written with bpf_skb_store_bytes().
 * Headers are read with bpf_skb_load_bytes(), so non-linear skbs work too.
 * Everything else (source address/port, TTL, payload) is unchanged.
 *
 * Returns:
 *   TC_ACT_SHOT (2) for malformed frames: shorter than the 14-byte Ethernet
 *                   header, or EtherType IPv4 but too short for a 20-byte
 *                   IPv4 header, or an IPv4 header with ihl < 5;
 *   TC_ACT_SHOT (2) also if a helper that rewrites the packet fails (it
 *                   cannot for a well-formed linear packet);
 *   TC_ACT_OK   (0) for everything else: rewritten DNS queries, and unchanged
 *                   non-IPv4 frames, other protocols, other ports,
 *                   fragments, and UDP datagrams too short for the 8-byte
 *                   UDP header.
 *
 * Maps:
 *   rewrite_stats  BPF_MAP_TYPE_ARRAY, 3 entries, key __u32, value __u64
 *                  (atomic adds): [0] packets rewritten, [1] packets passed
 *                  unchanged, [2] packets dropped.
 *   .rodata        dns_addr, dns_port (const volatile config).
 */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define DNS_PORT 53

#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define IP_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))

enum { STAT_REWRITTEN, STAT_PASSED, STAT_DROPPED, STAT_MAX };

const volatile __be32 dns_addr = bpf_htonl(0x0a000035); /* 10.0.0.53 */
const volatile __be16 dns_port = bpf_htons(5353);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rewrite_stats SEC(".maps");

static __always_inline int account(__u32 what, int verdict)
{
	__u64 *v = bpf_map_lookup_elem(&rewrite_stats, &what);

	if (v)
		__sync_fetch_and_add(v, 1);
	return verdict;
}

SEC("tc")
int tc_rewrite(struct __sk_buff *skb)
{
	struct ethhdr eth;
	struct iphdr iph;
	struct udphdr udph;
	__be32 new_addr = dns_addr;
	__be16 new_port = dns_port;
	__u32 l4_off;

	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)))
		return account(STAT_DROPPED, TC_ACT_SHOT);
	if (eth.h_proto != bpf_htons(ETH_P_IP))
		return account(STAT_PASSED, TC_ACT_OK);
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &iph, sizeof(iph)))
		return account(STAT_DROPPED, TC_ACT_SHOT);
	if (iph.ihl < 5)
		return account(STAT_DROPPED, TC_ACT_SHOT);
	if (iph.protocol != IPPROTO_UDP || (iph.frag_off & bpf_htons(0x3fff)))
		return account(STAT_PASSED, TC_ACT_OK);

	l4_off = ETH_HLEN + iph.ihl * 4;
	if (bpf_skb_load_bytes(skb, l4_off, &udph, sizeof(udph)))
		return account(STAT_PASSED, TC_ACT_OK);
	if (udph.dest != bpf_htons(DNS_PORT))
		return account(STAT_PASSED, TC_ACT_OK);

	/* UDP checksum: the address is in the pseudo-header, the port in the header. */
	if (bpf_l4_csum_replace(skb, l4_off + offsetof(struct udphdr, check), iph.daddr, new_addr,
				BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(new_addr)))
		return account(STAT_DROPPED, TC_ACT_SHOT);
	if (bpf_l4_csum_replace(skb, l4_off + offsetof(struct udphdr, check), udph.dest, new_port,
				BPF_F_MARK_MANGLED_0 | sizeof(new_port)))
		return account(STAT_DROPPED, TC_ACT_SHOT);
	/* IPv4 header checksum. */
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, iph.daddr, new_addr, sizeof(new_addr)))
		return account(STAT_DROPPED, TC_ACT_SHOT);

	if (bpf_skb_store_bytes(skb, IP_DST_OFF, &new_addr, sizeof(new_addr), 0))
		return account(STAT_DROPPED, TC_ACT_SHOT);
	if (bpf_skb_store_bytes(skb, l4_off + offsetof(struct udphdr, dest), &new_port,
				sizeof(new_port), 0))
		return account(STAT_DROPPED, TC_ACT_SHOT);

	return account(STAT_REWRITTEN, TC_ACT_OK);
}

char LICENSE[] SEC("license") = "GPL";
