// SPDX-License-Identifier: GPL-2.0
/*
 * ringbuf_events — report TCP connection attempts and UDP datagrams to
 * userspace through a BPF ring buffer.
 *
 * Program: ringbuf_events, section "xdp" (BPF_PROG_TYPE_XDP).
 *
 * What it does, for IPv4 frames (EtherType 0x0800, ihl >= 5, not a
 * fragment: MF clear and fragment offset 0):
 *   - TCP (protocol 6) with a full 20-byte TCP header, SYN set and ACK clear:
 *     reserves a record with bpf_ringbuf_reserve(), fills it in place, then
 *       * submits it with bpf_ringbuf_submit() if the TCP data offset is
 *         sane (doff >= 5 and doff * 4 bytes of TCP header fit in the frame),
 *       * otherwise discards it with bpf_ringbuf_discard() (nothing reaches
 *         userspace) and counts it in events_discarded;
 *   - UDP (protocol 17) with a full 8-byte UDP header: builds the record on
 *     the stack and copies it in with bpf_ringbuf_output();
 *   - when the ring buffer is full (reserve returns NULL / output fails) the
 *     event is counted in events_lost instead.
 * Other frames (non-IPv4, other protocols, TCP without SYN or with SYN+ACK,
 * truncated headers) produce no event.
 *
 * Record (struct event, 20 bytes, every field at its natural alignment):
 *   off  0  __u32  kind      1 = TCP SYN, 2 = UDP (host byte order)
 *   off  4  __be32 saddr     IPv4 source, network byte order (as in packet)
 *   off  8  __be32 daddr     IPv4 destination, network byte order
 *   off 12  __be16 sport     source port, network byte order
 *   off 14  __be16 dport     destination port, network byte order
 *   off 16  __u32  pkt_len   frame length (data_end - data), host byte order
 *
 * Returns: XDP_PASS (2), always. The packet is never modified.
 *
 * Maps:
 *   events  BPF_MAP_TYPE_RINGBUF, 16384 bytes (4 pages).
 *   .bss    __u64 events_lost, __u64 events_discarded (atomic adds).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum event_kind {
	EVENT_TCP_SYN = 1,
	EVENT_UDP = 2,
};

struct event {
	__u32 kind;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32 pkt_len;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 4);
} events SEC(".maps");

__u64 events_lost;
__u64 events_discarded;

SEC("xdp")
int ringbuf_events(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 pkt_len = data_end - data;
	struct ethhdr *eth = data;
	struct iphdr *iph;
	void *l4;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end || iph->ihl < 5)
		return XDP_PASS;
	if (iph->frag_off & bpf_htons(0x3fff))
		return XDP_PASS;
	l4 = (void *)iph + iph->ihl * 4;

	if (iph->protocol == IPPROTO_TCP) {
		struct tcphdr *tcph = l4;
		struct event *e;

		if ((void *)(tcph + 1) > data_end)
			return XDP_PASS;
		if (!tcph->syn || tcph->ack)
			return XDP_PASS;

		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (!e) {
			__sync_fetch_and_add(&events_lost, 1);
			return XDP_PASS;
		}
		e->kind = EVENT_TCP_SYN;
		e->saddr = iph->saddr;
		e->daddr = iph->daddr;
		e->sport = tcph->source;
		e->dport = tcph->dest;
		e->pkt_len = pkt_len;

		if (tcph->doff < 5 || l4 + tcph->doff * 4 > data_end) {
			/* Malformed header: give the reserved slot back. */
			bpf_ringbuf_discard(e, 0);
			__sync_fetch_and_add(&events_discarded, 1);
			return XDP_PASS;
		}
		bpf_ringbuf_submit(e, 0);
	} else if (iph->protocol == IPPROTO_UDP) {
		struct udphdr *udph = l4;
		struct event ev = {};

		if ((void *)(udph + 1) > data_end)
			return XDP_PASS;
		ev.kind = EVENT_UDP;
		ev.saddr = iph->saddr;
		ev.daddr = iph->daddr;
		ev.sport = udph->source;
		ev.dport = udph->dest;
		ev.pkt_len = pkt_len;
		if (bpf_ringbuf_output(&events, &ev, sizeof(ev), 0))
			__sync_fetch_and_add(&events_lost, 1);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
