// SPDX-License-Identifier: GPL-2.0
/*
 * tail_calls — per-protocol XDP handlers chained with bpf_tail_call().
 *
 * Programs (all BPF_PROG_TYPE_XDP, section "xdp"):
 *   xdp_dispatch  the entry point (attach this one). For an IPv4 frame
 *                 (EtherType 0x0800, full 20-byte IPv4 header) it tail-calls
 *                 jmp_table[protocol]. If the slot is empty (any protocol
 *                 other than 1, 6, 17) the tail call does nothing and
 *                 execution falls through: it counts counters[0] and returns
 *                 XDP_PASS. Non-IPv4 and truncated frames also count
 *                 counters[0] and return XDP_PASS.
 *   handle_icmp   jmp_table[1]  (IPPROTO_ICMP): counters[1] += 1, XDP_DROP (1)
 *   handle_tcp    jmp_table[6]  (IPPROTO_TCP):  counters[2] += 1, XDP_PASS (2)
 *   handle_udp    jmp_table[17] (IPPROTO_UDP):  counters[3] += 1, XDP_PASS (2)
 * The verdict of a handler is the verdict of the whole chain: a tail call
 * does not return to xdp_dispatch. Packets are never modified.
 *
 * Maps:
 *   jmp_table  BPF_MAP_TYPE_PROG_ARRAY, 256 entries (one per IP protocol
 *              number), key __u32, value program fd. Initialised statically
 *              in the object (libbpf's `.values = { [n] = &prog }`, stored
 *              as relocations in .rel.maps): slots 1, 6 and 17 hold
 *              handle_icmp, handle_tcp and handle_udp; all others are empty.
 *   counters   BPF_MAP_TYPE_ARRAY, 4 entries, key __u32, value __u64
 *              (atomic adds): [0] fell through in xdp_dispatch, [1] ICMP,
 *              [2] TCP, [3] UDP.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum { CNT_FALLTHROUGH, CNT_ICMP, CNT_TCP, CNT_UDP, CNT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int handle_icmp(struct xdp_md *ctx)
{
	count(CNT_ICMP);
	return XDP_DROP;
}

SEC("xdp")
int handle_tcp(struct xdp_md *ctx)
{
	count(CNT_TCP);
	return XDP_PASS;
}

SEC("xdp")
int handle_udp(struct xdp_md *ctx)
{
	count(CNT_UDP);
	return XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 256);
	__uint(key_size, sizeof(__u32));
	__array(values, int (struct xdp_md *));
} jmp_table SEC(".maps") = {
	.values = {
		[IPPROTO_ICMP] = (void *)&handle_icmp,
		[IPPROTO_TCP] = (void *)&handle_tcp,
		[IPPROTO_UDP] = (void *)&handle_udp,
	},
};

SEC("xdp")
int xdp_dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);

	if ((void *)(iph + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP))
		bpf_tail_call(ctx, &jmp_table, iph->protocol);

	/* Not IPv4, or no handler in the slot. */
	count(CNT_FALLTHROUGH);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
