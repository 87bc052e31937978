// SPDX-License-Identifier: Apache-2.0
// CO-RE fixture against Waggle's own target BTF (data/waggle_types.btf):
// local flavours of the UAPI context types with reordered and invented
// fields.
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define __pai __attribute__((preserve_access_index))

struct xdp_md___w {
	__u32 data_end;
	__u32 data;
	__u32 rx_queue_index;
	__u32 no_such_field;
} __pai;

struct __sk_buff___w {
	__u32 mark;
	__u32 cb[5];
	__u64 tstamp;
	__u32 len;
} __pai;

enum xdp_action___w { XDP_PASS = 100, XDP_TX = 200, XDP_NO_SUCH = 300 };

struct bpf_spin_lock___w {
	__u32 val;
} __pai;

SEC("xdp")
int waggle_xdp(struct xdp_md___w *ctx)
{
	__u32 a = ctx->data;
	__u32 b = ctx->data_end;
	__u32 q = ctx->rx_queue_index;

	if (bpf_core_field_exists(ctx->no_such_field))
		return bpf_core_enum_value(enum xdp_action___w, XDP_NO_SUCH);
	if (a + q > b)
		return bpf_core_enum_value(enum xdp_action___w, XDP_TX);
	return bpf_core_enum_value(enum xdp_action___w, XDP_PASS);
}

SEC("tc")
int waggle_tc(struct __sk_buff___w *skb)
{
	__u64 t = skb->tstamp;

	return skb->mark + skb->cb[2] + skb->len + (t > 0) +
	       bpf_core_type_size(struct bpf_spin_lock___w);
}

char LICENSE[] SEC("license") = "GPL";
