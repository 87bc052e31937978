// SPDX-License-Identifier: Apache-2.0
//
// The target BTF for CO-RE relocations of programs that run on Waggle's
// userspace runtime: the context and helper types Waggle provides, declared
// exactly as Linux's UAPI declares them (they come from <linux/bpf.h>, not
// from copies), so a program's CO-RE accesses relocate against the same
// layouts the kernel uses.
//
// What is here, and why:
//   struct xdp_md         XDP program context
//   struct __sk_buff      socket-filter / tc program context; the types
//                         its pointer members name (struct bpf_flow_keys,
//                         struct bpf_sock) are present only as forward
//                         declarations, because Waggle gives programs no
//                         flow keys or sockets to follow them to
//   enum xdp_action       XDP return codes
//   enum sk_action        SK_DROP / SK_PASS return codes
//   struct bpf_spin_lock  the lock a map value may embed (waggle-maps
//                         records its offset)
//   packet headers        struct ethhdr, iphdr, ipv6hdr, tcphdr, udphdr,
//                         (ICMP headers need libc headers and are left out):
//                         programs read packets through these with
//                         BPF_CORE_READ, which relocates against them
// Left out on purpose: struct bpf_timer (no timer helpers in userspace),
// struct bpf_sock_tuple and other socket-lookup types (no socket lookups),
// and kernel-internal types (task_struct, ...), which a userspace runtime
// does not have.
//
// Built by build.sh (clang-19 -target bpf -g -O2); only the .BTF section is
// kept, in waggle_types.btf.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

// Functions whose parameters name every type above make clang emit BTF for
// each of them (and for what they reference). Their FUNC and FUNC_PROTO
// records are the only extra types in the result.
__attribute__((section("waggle"), used))
int waggle_types(struct xdp_md *xdp, struct __sk_buff *skb,
		 enum xdp_action xdp_action, enum sk_action sk_action,
		 struct bpf_spin_lock *lock)
{
	return 0;
}

// BPF functions take at most five arguments: the packet headers get their own.
__attribute__((section("waggle"), used))
int waggle_l2_l3_types(struct ethhdr *eth, struct iphdr *ip, struct ipv6hdr *ip6)
{
	return 0;
}

__attribute__((section("waggle"), used))
int waggle_l4_types(struct tcphdr *tcp, struct udphdr *udp)
{
	return 0;
}
