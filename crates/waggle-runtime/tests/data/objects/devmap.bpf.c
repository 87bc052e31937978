// A map type Waggle does not provide (a device map).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u32);
} ports SEC(".maps");

SEC("xdp")
int fwd(struct xdp_md *ctx) { return bpf_redirect_map(&ports, 0, XDP_PASS); }

char LICENSE[] SEC("license") = "GPL";
