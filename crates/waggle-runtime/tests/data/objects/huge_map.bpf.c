// A hash map far larger than a runtime should allocate (100M x 64-byte values).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct value { __u64 words[8]; };

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 100000000);
    __type(key, __u32);
    __type(value, struct value);
} huge SEC(".maps");

SEC("xdp")
int big(struct xdp_md *ctx) {
    __u32 k = 0;
    return bpf_map_lookup_elem(&huge, &k) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
