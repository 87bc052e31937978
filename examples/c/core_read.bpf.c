// SPDX-License-Identifier: GPL-2.0
/*
 * core_read — CO-RE (Compile Once, Run Everywhere) relocations against the
 * context and UAPI types a runtime describes in its "kernel" BTF.
 *
 * Program: core_read, section "xdp" (BPF_PROG_TYPE_XDP).
 *
 * The local struct definitions below deliberately put the fields in an order
 * different from the real UAPI layout, so every access only works if the
 * loader applies the CO-RE relocations recorded in .BTF.ext against the
 * target BTF (vmlinux BTF in the kernel). Real layouts (struct xdp_md,
 * 24 bytes): data @0, data_end @4, data_meta @8, ingress_ifindex @12,
 * rx_queue_index @16, egress_ifindex @20; struct ethhdr: h_dest @0,
 * h_source @6, h_proto @12; enum xdp_action: XDP_PASS = 2.
 *
 * Relocations used:
 *   - field byte offset: ctx->data, ctx->data_end, ctx->ingress_ifindex
 *     through struct xdp_md___waggle (preserve_access_index attribute), and
 *     ctx->rx_queue_index through an unannotated struct read with an explicit
 *     __builtin_preserve_access_index();
 *   - BPF_CORE_READ(eth, h_proto) on struct ethhdr___waggle (a relocated
 *     address handed to bpf_probe_read_kernel());
 *   - bpf_core_field_exists, bpf_core_field_size, bpf_core_field_offset,
 *     bpf_core_type_exists, bpf_core_type_size, bpf_core_enum_value_exists,
 *     bpf_core_enum_value.
 *
 * Returns (on purpose not an XDP action; the value is the test result):
 *   bits 31..24  ingress_ifindex & 0xff          (relocated ctx load)
 *   bits 23..16  rx_queue_index & 0xff           (relocated ctx load)
 *   bit  15      0
 *   bit  14      frame >= 14 bytes and its EtherType read with
 *                BPF_CORE_READ is 0x0800 (IPv4)
 *   bit  13      enum_value_exists(xdp_action, XDP_NO_SUCH_ACTION)  -> 0
 *   bit  12      enum_value_exists(xdp_action, XDP_REDIRECT)        -> 1
 *   bit  11      type_exists(struct waggle_no_such_type)            -> 0
 *   bit  10      type_exists(struct __sk_buff)                      -> 1
 *   bit   9      field_exists(xdp_md.no_such_field)                 -> 0
 *   bit   8      field_exists(xdp_md.ingress_ifindex)               -> 1
 *   bits  7..4   enum_value(xdp_action, XDP_PASS) & 0xf             -> 2
 *   bits  3..0   field_size(__sk_buff.mark) & 0xf                   -> 4
 * So for an IPv4 frame with ingress_ifindex = 1, rx_queue_index = 0 the
 * value is 0x01005524; for a non-IPv4 frame 0x01001524; in general
 * (ifindex & 0xff) << 24 | (rxq & 0xff) << 16 | 0x1524 | (IPv4 ? 0x4000 : 0).
 *
 * Maps:
 *   .bss  struct core_results results (all __u32, host byte order):
 *         ingress_ifindex, rx_queue_index,
 *         xdp_md_size      = type_size(struct xdp_md)            (24)
 *         ifindex_offset   = field_offset(xdp_md.ingress_ifindex) (12)
 *         h_proto_offset   = field_offset(ethhdr.h_proto)          (12)
 *         skb_mark_size    = field_size(__sk_buff.mark)            (4)
 *         xdp_pass         = enum_value(xdp_action, XDP_PASS)      (2)
 *         h_proto          = EtherType read with BPF_CORE_READ, host byte
 *                            order (0x0800 for IPv4; 0 if < 14 bytes)
 *         ret              = the return value
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

/* Local views of UAPI types; the ___waggle suffix is ignored when matching. */
struct xdp_md___waggle {
	__u32 ingress_ifindex;
	__u32 data_end;
	__u32 no_such_field; /* not in the real struct xdp_md */
	__u32 data;
} __attribute__((preserve_access_index));

/* No attribute: accesses are relocated only inside __builtin_preserve_access_index(). */
struct xdp_md___rxq {
	__u32 rx_queue_index;
};

struct __sk_buff___waggle {
	__u32 mark;
	__u32 len;
} __attribute__((preserve_access_index));

struct ethhdr___waggle {
	__be16 h_proto;
	unsigned char h_source[6];
	unsigned char h_dest[6];
} __attribute__((preserve_access_index));

enum xdp_action___waggle {
	XDP_PASS___waggle = 100,
	XDP_REDIRECT___waggle = 101,
	XDP_NO_SUCH_ACTION___waggle = 102,
};

struct waggle_no_such_type {
	int x;
};

struct core_results {
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 xdp_md_size;
	__u32 ifindex_offset;
	__u32 h_proto_offset;
	__u32 skb_mark_size;
	__u32 xdp_pass;
	__u32 h_proto;
	__u32 ret;
};

struct core_results results;

SEC("xdp")
int core_read(struct xdp_md *ctx)
{
	struct xdp_md___waggle *md = (void *)ctx;
	struct xdp_md___rxq *rq = (void *)ctx;
	void *data = (void *)(long)md->data;
	void *data_end = (void *)(long)md->data_end;
	struct ethhdr___waggle *eth = data;
	__u32 ifindex, rxq, flags = 0, ret;
	__u16 h_proto = 0;

	ifindex = md->ingress_ifindex;
	rxq = __builtin_preserve_access_index(rq->rx_queue_index);

	if (data + 14 <= data_end)
		h_proto = bpf_ntohs(BPF_CORE_READ(eth, h_proto));

	if (bpf_core_field_exists(md->ingress_ifindex))
		flags |= 1 << 8;
	if (bpf_core_field_exists(md->no_such_field))
		flags |= 1 << 9;
	if (bpf_core_type_exists(struct __sk_buff___waggle))
		flags |= 1 << 10;
	if (bpf_core_type_exists(struct waggle_no_such_type))
		flags |= 1 << 11;
	if (bpf_core_enum_value_exists(enum xdp_action___waggle, XDP_REDIRECT___waggle))
		flags |= 1 << 12;
	if (bpf_core_enum_value_exists(enum xdp_action___waggle, XDP_NO_SUCH_ACTION___waggle))
		flags |= 1 << 13;
	if (h_proto == 0x0800)
		flags |= 1 << 14;

	results.ingress_ifindex = ifindex;
	results.rx_queue_index = rxq;
	results.xdp_md_size = bpf_core_type_size(struct xdp_md___waggle);
	results.ifindex_offset = bpf_core_field_offset(md->ingress_ifindex);
	results.h_proto_offset = bpf_core_field_offset(struct ethhdr___waggle, h_proto);
	results.skb_mark_size = bpf_core_field_size(struct __sk_buff___waggle, mark);
	results.xdp_pass = bpf_core_enum_value(enum xdp_action___waggle, XDP_PASS___waggle);
	results.h_proto = h_proto;

	ret = (ifindex & 0xff) << 24 | (rxq & 0xff) << 16 | flags |
	      (results.xdp_pass & 0xf) << 4 | (results.skb_mark_size & 0xf);
	results.ret = ret;
	return ret;
}

char LICENSE[] SEC("license") = "GPL";
