// SPDX-License-Identifier: Apache-2.0
// CO-RE fixture: a program whose local type definitions differ from
// core_target.bpf.c's (fields reordered, resized, missing; ___flavour names),
// with one relocation of every kind.
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define __pai __attribute__((preserve_access_index))

struct inner___l {
	long long y;
	int x;
} __pai;

struct pkt___l {
	struct inner___l in;
	char name[8];
	unsigned int proto;		/* u16 in the target: load narrowed */
	unsigned int len;
	unsigned int flags_b : 12, flags_a : 4;
	int sbits : 7;
	unsigned int lo;		/* inside anonymous members in the target */
	int missing;			/* not in the target at all */
	int signed_small;		/* s16 in the target: load poisoned */
	unsigned int tail[];
} __pai;

typedef struct pkt___l pkt_t___l;

enum pkt_kind___l { PK_A = 10, PK_C = 30, PK_MISSING = 40 };
enum wide64___l { W_BIG = 5 };

struct only_target___l {
	int z;
} __pai;

struct nowhere {
	int q;
} __pai;

/* Matches struct shape (members by name, same int sizes and signedness). */
struct shape___match {
	unsigned int h;
	int w;
} __pai;

/* Does not match: w is unsigned here, signed in the target. */
struct shape___nomatch {
	unsigned int w;
} __pai;

volatile __u64 out[64];

SEC("tc")
int core_fields(struct pkt___l *pk)
{
	out[0] = pk->len;				/* byte_off on a load */
	out[1] = pk->in.x;				/* nested, reordered */
	out[2] = pk->proto;				/* narrowed load */
	out[3] = pk->lo;					/* through anonymous members */
	out[4] = pk->name[3];				/* array element */
	out[5] = pk->tail[5];				/* flexible array */
	out[6] = pk->signed_small;			/* unsafe size change: poisoned */
	out[7] = pk->missing;				/* missing field: poisoned */
	out[8] = bpf_core_field_exists(pk->missing);
	out[9] = bpf_core_field_exists(pk->in.y);
	out[10] = bpf_core_field_size(pk->proto);
	out[11] = bpf_core_field_size(pk->name);
	out[12] = BPF_CORE_READ_BITFIELD(pk, flags_a);
	out[13] = BPF_CORE_READ_BITFIELD(pk, flags_b);
	out[14] = BPF_CORE_READ_BITFIELD(pk, sbits);
	out[15] = bpf_core_field_offset(pk->in.y);
	return 0;
}

SEC("tc")
int core_types(void *ctx)
{
	out[20] = bpf_core_type_id_local(struct pkt___l);
	out[21] = bpf_core_type_id_kernel(struct pkt___l);
	out[22] = bpf_core_type_id_kernel(struct nowhere);
	out[23] = bpf_core_type_exists(struct only_target___l);
	out[24] = bpf_core_type_exists(struct nowhere);
	out[25] = bpf_core_type_exists(pkt_t___l);
	out[26] = bpf_core_type_size(struct pkt___l);
	out[27] = bpf_core_type_size(struct nowhere);
	out[28] = bpf_core_type_matches(struct shape___match);
	out[29] = bpf_core_type_matches(struct shape___nomatch);
	out[30] = bpf_core_enum_value_exists(enum pkt_kind___l, PK_A);
	out[31] = bpf_core_enum_value_exists(enum pkt_kind___l, PK_MISSING);
	out[32] = bpf_core_enum_value(enum pkt_kind___l, PK_A);
	out[33] = bpf_core_enum_value(enum pkt_kind___l, PK_C);
	out[34] = bpf_core_enum_value(enum pkt_kind___l, PK_MISSING);
	out[35] = bpf_core_enum_value(enum wide64___l, W_BIG);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
