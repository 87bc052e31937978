// A BPF program exercising what clang emits for ordinary C: ALU32 and 64-bit
// arithmetic, jumps on both widths, narrow and sign-extending loads, stores of
// registers and immediates, atomics, byte swaps, 64-bit constants, map
// relocations, helper, local, indirect and kfunc calls, and legacy packet
// loads. Compiled for -mcpu=v3 and -mcpu=v4 by build.sh.

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;

static long (*bpf_trace_printk)(const char *fmt, u32 size, ...) = (void *)6;
extern int bpf_kfunc_thing(int x) __attribute__((section(".ksyms")));
unsigned long long load_byte(void *skb, u64 off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, u64 off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, u64 off) asm("llvm.bpf.load.word");

u64 counter;

static __attribute__((noinline)) s64 mix(s64 a, s64 b)
{
#if __BPF_CPU_VERSION__ >= 4
	return a / b + a % b; // sdiv, smod
#else
	return (u64)a / (u64)b + (u64)a % (u64)b;
#endif
}

static __attribute__((noinline)) u32 mix32(u32 a, u32 b)
{
	return (a / b) ^ (a % b) | (a << (b & 7)) | (a >> (b & 3));
}

int packet(void *skb, u64 i, int (*fn)(int))
{
	return load_byte(skb, 12) + load_half(skb, i) + load_word(skb, i + 4) + fn(3);
}

int prog(void *ctx)
{
	u64 *p = ctx;
	s8 a = *(s8 *)ctx;
	s16 b = *(s16 *)(ctx + 2);
	s32 c = *(s32 *)(ctx + 4);
	u16 x = __builtin_bswap16(*(u16 *)(ctx + 8));
	u32 y = __builtin_bswap32(*(u32 *)(ctx + 12));
	u64 z = __builtin_bswap64(p[3]);
	s64 r = mix(a * (s64)b, c ? c : 1);
	u32 q = mix32((u32)z, y | 1);

	__sync_fetch_and_add(&counter, 1);
	__sync_fetch_and_or((u32 *)&counter, q);
	u64 old = __sync_fetch_and_xor(&p[4], r);
	u32 o2 = __sync_fetch_and_and((u32 *)&p[5], q);
	old += __sync_lock_test_and_set(&p[6], z);
	old += __sync_val_compare_and_swap(&p[7], old, x);
	o2 += __sync_val_compare_and_swap((u32 *)&p[8], o2, y);
	o2 += __sync_lock_test_and_set((u32 *)&p[9], y);

	*(u8 *)(ctx + 40) = 7;
	*(u16 *)(ctx + 42) = 0x1234;
	*(u32 *)(ctx + 44) = -5;
	p[6] = 0x7fffffff;

	s32 sx = (s8)o2 + (s16)q;
	s64 sy = (s32)old + (s8)old;
	if ((s64)r < -7)
		r = r >> 3;
	else
		r = (s64)r >> (q & 31);
	if ((s32)sx > 100)
		sx = (u32)sx / q;
	if (sx & 0x40)
		bpf_trace_printk("x", 2, sx);
	if (old != 0x1122334455667788ULL)
		old -= 0x1122334455667788ULL;
	if ((u32)old >= 17 && (s32)sy <= -3)
		old = ~old;
	return (int)(r + sy + old + sx + bpf_kfunc_thing(3) + (u32) - (s32)o2);
}
