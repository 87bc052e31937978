// SPDX-License-Identifier: Apache-2.0
// CO-RE fixture: the "target" (kernel-side) definitions. Only the BTF of this
// object is used, as the target BTF for core_local.o.

struct inner {
	int x;
	long long y;
};

struct pkt {
	unsigned int len;
	unsigned short proto;
	short signed_small;
	struct inner in;
	union {
		unsigned long long raw;
		struct {
			unsigned int lo;
			unsigned int hi;
		};
	};
	unsigned int flags_a : 4, flags_b : 12;
	int sbits : 7;
	char name[8];
	void *ptr;
	unsigned int tail[];
};

typedef struct pkt pkt_t;

enum pkt_kind { PK_A = 1, PK_B = 2, PK_C = 300 };
enum wide64 { W_SMALL = 1, W_BIG = 0x1000000000ULL };

struct only_target {
	int z;
};

struct shape {
	int w;
	unsigned int h;
	struct pkt *owner;
};

/* Clang emits BTF for what functions and globals reference, and only a
 * forward declaration for structs reached through a pointer member, so the
 * rest is held by value. */
struct others {
	enum pkt_kind k;
	enum wide64 w;
	struct only_target o;
	struct shape s;
};

int target_uses(struct pkt *p, pkt_t *t, struct others *o)
{
	return 0;
}
