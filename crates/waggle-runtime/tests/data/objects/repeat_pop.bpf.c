// Strips the first byte of the packet and counts its runs: run with
// `repeat`, every run sees the packet the previous one left, as in Linux's
// test run.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 runs = 0;

SEC("xdp")
int repeat_pop(struct xdp_md *ctx)
{
	runs++;
	if (bpf_xdp_adjust_head(ctx, 1))
		return XDP_ABORTED;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	if (data + 1 > data_end)
		return XDP_ABORTED;
	// The verdict is the byte now first: it tells how far the head moved.
	return *(__u8 *)data;
}

char LICENSE[] SEC("license") = "GPL";
