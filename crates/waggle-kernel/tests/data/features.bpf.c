// SPDX-License-Identifier: GPL-2.0
// Kernel-backend features the examples of examples/c do not use:
//
// - `outer`: an array of maps with an inner-map template and static slots
//   (`.values`), read by `frags` (XDP, `xdp.frags`: BPF_F_XDP_HAS_FRAGS);
// - `locked`: a hash map whose value holds a `struct bpf_spin_lock` (needs the
//   map's BTF value type), and a `bpf_loop` callback (needs BTF func_info),
//   and a global subprogram (verified on its own), in `looper` (XDP);
// - `connect4` (`cgroup/connect4`: needs its expected attach type);
// - `on_switch` (`tp_btf/sched_switch`) and `on_task` (`iter/task`): tracing
//   programs whose attach_btf_id comes from vmlinux BTF.
//
// Rebuild (deterministic), in this folder:
//   clang-19 -target bpf -O2 -g -mcpu=v3 -fdebug-compilation-dir=. \
//     -I/usr/include/$(uname -m)-linux-gnu -c features.bpf.c -o features.bpf.o
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} in0 SEC(".maps"), in1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &in0, [1] = &in1 },
};

struct val {
	struct bpf_spin_lock lock;
	__u64 n;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct val);
} locked SEC(".maps");

/* Returns 2 (XDP_PASS) when outer[0] holds a map with key 0, else 1 or 3. */
SEC("xdp.frags")
int frags(struct xdp_md *ctx)
{
	__u32 k = 0;
	void *m = bpf_map_lookup_elem(&outer, &k);
	if (!m)
		return 1;
	return bpf_map_lookup_elem(m, &k) ? 2 : 3;
}

static long add_index(__u32 i, void *ctx)
{
	*(__u64 *)ctx += i;
	return 0;
}

__noinline int twice(int x)
{
	return x * 2;
}

/* Returns 0 + 1 + 2 + 3 + 4 = 10 and adds 1 to locked[0].n when present. */
SEC("xdp")
int looper(struct xdp_md *ctx)
{
	__u64 sum = 0;
	__u32 k = 0;
	struct val *v;

	bpf_loop(5, add_index, &sum, 0);
	v = bpf_map_lookup_elem(&locked, &k);
	if (v) {
		bpf_spin_lock(&v->lock);
		v->n++;
		bpf_spin_unlock(&v->lock);
	}
	return (int)sum + twice(0);
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("tp_btf/sched_switch")
int on_switch(void *ctx)
{
	return 0;
}

SEC("iter/task")
int on_task(void *ctx)
{
	return 0;
}
