// Calls a helper Waggle does not provide (bpf_skb_vlan_push).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int vlan(struct __sk_buff *skb) { return bpf_skb_vlan_push(skb, 0x8100, 42); }

char LICENSE[] SEC("license") = "GPL";
