// Tail calls at their limit and where they are refused.
//
// `tail_loop` tail-calls itself through slot 0 of `loop_table` until the
// tail call fails: Linux allows 33 tail calls per run, so the body runs 34
// times (`runs`) and the last run returns XDP_PASS (XDP_ABORTED past 100
// runs, so that an engine without the limit ends too). `tail_from_subprog`
// makes its tail call from a bpf-to-bpf function, which Waggle refuses.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int tail_loop(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__array(values, int (void *));
} loop_table SEC(".maps") = {
	.values = { [0] = (void *)&tail_loop },
};

__u64 runs = 0;

SEC("xdp")
int tail_loop(struct xdp_md *ctx)
{
	if (++runs > 100)
		return XDP_ABORTED;
	bpf_tail_call(ctx, &loop_table, 0);
	return XDP_PASS;
}

static __attribute__((noinline)) int hop(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &loop_table, 0);
	// Depends on the context, so that the caller uses this function's r0
	// (bpf_tail_call returns nothing a program may read).
	return ctx->rx_queue_index ? XDP_ABORTED : XDP_DROP;
}

SEC("xdp")
int tail_from_subprog(struct xdp_md *ctx)
{
	return hop(ctx);
}

char LICENSE[] SEC("license") = "GPL";
