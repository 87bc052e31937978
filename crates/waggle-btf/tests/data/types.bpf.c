// SPDX-License-Identifier: Apache-2.0
// BTF parsing fixture: one of every kind clang emits for BPF programs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bits {
	unsigned int a : 3;
	int b : 5;
	unsigned long long c : 40;
	char d;
	unsigned short e : 9;
};

union number {
	int i;
	float f;
	unsigned long long u;
	char bytes[8];
};

enum color { RED, GREEN = 5, BLUE = -1 };
enum big { BIG_SMALL = 1, BIG_HUGE = 0x123456789abcdef0ULL };

typedef unsigned int u32_t;
typedef u32_t my_u32;
typedef const volatile my_u32 cv_u32;

struct record {
	my_u32 id;
	cv_u32 flags;
	struct bits bits;
	union number num;
	enum color color;
	enum big big;
	int matrix[3][4];
	char name[16];
	struct record *next;
	void (*callback)(int code, struct record *rec);
	double ratio;
	int __attribute__((btf_type_tag("user"))) *uptr;
	int *__restrict rptr;
	int __attribute__((btf_decl_tag("counted"))) count;
};

int counter = 7;
struct record last_record;
const volatile unsigned int limit = 100;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct record);
} records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __noinline int helper_fn(struct record *r, int x)
{
	return r->id + x;
}

SEC("xdp")
int prog_one(struct xdp_md *ctx)
{
	struct record *r;
	__u32 key = 0;

	r = bpf_map_lookup_elem(&records, &key);
	if (!r)
		return XDP_PASS;
	counter += helper_fn(r, limit);
	return r->bits.b > 0 ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int prog_two(struct __sk_buff *skb)
{
	last_record.color = BLUE;
	last_record.big = BIG_HUGE;
	return skb->len > limit;
}

char LICENSE[] SEC("license") = "GPL";
