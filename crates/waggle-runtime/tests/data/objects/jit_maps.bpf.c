// Map helper calls on every map type the JIT compiles without the helper
// (array lookups inlined; hash, LRU hash and LPM trie operations called
// directly), and on a per-CPU array, which keeps the helper when the object
// has several CPU slots.
//
// Each program reads a request from the packet: a u32 key at offset 0, an
// operation at offset 4 (0 lookup, 1 update, 2 delete), update flags at
// offset 5, an LPM prefix length at offset 6 and a u64 value at offset 8.
// A lookup returns the value found (arrays: after incrementing it through
// the returned pointer) or 1000 on a miss; an update or delete returns 2000
// minus the helper's result (2000 on success, 2017 for -EEXIST, ...).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} percpu_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} recent SEC(".maps");

struct route_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct route_key);
	__type(value, __u64);
} routes SEC(".maps");

struct request {
	__u32 key;
	__u8 op;
	__u8 flags;
	__u8 prefixlen;
	__u8 pad;
	__u64 value;
};

/* Declares `req`, the packet's request; returns XDP_ABORTED if the packet
 * is too short. */
#define REQUEST(ctx)                                                    \
	struct request *req = (void *)(long)(ctx)->data;                \
	if ((void *)(req + 1) > (void *)(long)(ctx)->data_end)          \
		return XDP_ABORTED

static __always_inline __u64 count_in(void *map, struct request *req)
{
	__u32 key = req->key;
	__u64 *v = bpf_map_lookup_elem(map, &key);

	if (!v)
		return 1000;
	*v += 1;
	return *v;
}

SEC("xdp")
int count(struct xdp_md *ctx)
{
	REQUEST(ctx);
	return count_in(&counters, req);
}

SEC("xdp")
int count_percpu(struct xdp_md *ctx)
{
	REQUEST(ctx);
	return count_in(&percpu_counters, req);
}

static __always_inline __u64 map_op(void *map, void *key, struct request *req)
{
	__u64 value = req->value;
	__u64 *v;

	switch (req->op) {
	case 0:
		v = bpf_map_lookup_elem(map, key);
		return v ? *v : 1000;
	case 1:
		return 2000 - bpf_map_update_elem(map, key, &value, req->flags);
	default:
		return 2000 - bpf_map_delete_elem(map, key);
	}
}

SEC("xdp")
int table_op(struct xdp_md *ctx)
{
	__u32 key;

	REQUEST(ctx);
	key = req->key;
	return map_op(&table, &key, req);
}

SEC("xdp")
int recent_op(struct xdp_md *ctx)
{
	__u32 key;

	REQUEST(ctx);
	key = req->key;
	return map_op(&recent, &key, req);
}

SEC("xdp")
int route_op(struct xdp_md *ctx)
{
	struct route_key key;

	REQUEST(ctx);
	key.prefixlen = req->prefixlen;
	key.addr = req->key;
	return map_op(&routes, &key, req);
}

char LICENSE[] SEC("license") = "GPL";
