// Legacy `maps` section definitions, global data in every section kind, and
// subprograms both in .text and static in the program's own section.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def_legacy {
    unsigned int type, key_size, value_size, max_entries, map_flags;
};

struct bpf_map_def_legacy hits SEC("maps") = {
    .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 16,
};
struct bpf_map_def_legacy table SEC("maps") = {
    .type = BPF_MAP_TYPE_HASH, .key_size = 8, .value_size = 16, .max_entries = 1024, .map_flags = 1,
};

volatile const int factor = 3;        /* .rodata */
int bias = 7;                         /* .data */
long calls;                           /* .bss */

__attribute__((noinline)) int scale(int x) { return x * factor; }    /* .text, global */

static __attribute__((noinline)) int add_bias(int x) { calls++; return x + bias; }  /* same section */

SEC("socket")
int legacy_prog(struct __sk_buff *skb) {
    __u32 key = 1;
    long *v = bpf_map_lookup_elem(&hits, &key);
    if (v)
        *v += 1;
    return add_bias(scale(skb->len));
}

SEC("xdp")
int second_prog(struct xdp_md *ctx) {
    return scale(ctx->ingress_ifindex) > 100 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
