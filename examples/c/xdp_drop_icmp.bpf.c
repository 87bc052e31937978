// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_drop_icmp — drop ICMP, pass everything else.
 *
 * Program: xdp_drop_icmp, section "xdp" (BPF_PROG_TYPE_XDP).
 *
 * What it does: parses the Ethernet header and then
 *   - EtherType 0x0800 (IPv4): if the IPv4 header's protocol is 1 (ICMP)
 *     the frame is dropped;
 *   - EtherType 0x86DD (IPv6): if the IPv6 header's next header is 58
 *     (ICMPv6) the frame is dropped (extension headers are not walked: an
 *     ICMPv6 message behind a hop-by-hop header passes).
 * VLAN-tagged frames, ARP and every other EtherType pass.
 *
 * Returns: XDP_DROP (1) for IPv4 ICMP and IPv6 ICMPv6, XDP_PASS (2) for
 * everything else, including frames too short to hold the Ethernet header or
 * the IP header (those are left to the kernel stack, which will discard them).
 *
 * Maps: none. Events: none. The packet is never modified.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_drop_icmp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end)
			return XDP_PASS;
		if (iph->protocol == IPPROTO_ICMP)
			return XDP_DROP;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) > data_end)
			return XDP_PASS;
		if (ip6h->nexthdr == IPPROTO_ICMPV6)
			return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
