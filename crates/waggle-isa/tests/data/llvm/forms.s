# Every instruction form llvm-mc accepts for BPF (-mcpu=v4), in LLVM's own
# spelling. build.sh assembles it with llvm-mc-19 and disassembles it with
# llvm-objdump-19; the test checks Waggle against both.

entry:
# ALU, 64 and 32 bits, register and immediate sources
	r0 = r1
	w0 = w1
	r0 = 5
	w0 = 5
	r0 = -5
	w10 = 0xffffffff
	r9 = -2147483648
	r0 += r1
	r0 += 1
	w0 += w1
	w0 += -1
	r0 -= r1
	r0 -= 1
	w0 -= w1
	w0 -= 1
	r0 *= r1
	r0 *= 3
	w0 *= w1
	w0 *= 3
	r0 /= r1
	r0 /= 3
	w0 /= w1
	w0 /= 3
	r0 %= r1
	r0 %= 3
	w0 %= w1
	w0 %= 3
	r0 s/= r1
	r0 s/= -3
	w0 s/= w1
	w0 s/= 3
	r0 s%= r1
	r0 s%= 3
	w0 s%= w1
	w0 s%= 3
	r0 |= r1
	r0 |= 0xff
	w0 |= w1
	w0 |= 0xff
	r0 &= r1
	r0 &= 0xffff
	w0 &= w1
	w0 &= 0xf
	r0 ^= r1
	r0 ^= 7
	w0 ^= w1
	w0 ^= 7
	r0 <<= r1
	r0 <<= 3
	w0 <<= w1
	w0 <<= 3
	r0 >>= r1
	r0 >>= 3
	w0 >>= w1
	w0 >>= 3
	r0 s>>= r1
	r0 s>>= 3
	w0 s>>= w1
	w0 s>>= 3
	r0 = -r0
	w3 = -w3
# sign-extending moves
	r0 = (s8)r1
	r0 = (s16)r1
	r0 = (s32)r1
	w0 = (s8)w1
	w0 = (s16)w1
# byte order
	r0 = be16 r0
	r1 = be32 r1
	r2 = be64 r2
	r3 = le16 r3
	r4 = le32 r4
	r5 = le64 r5
	r6 = bswap16 r6
	r7 = bswap32 r7
	r8 = bswap64 r8
# 64-bit constants
	r0 = 0x1122334455667788 ll
	r1 = 5 ll
	r2 = -1 ll
	r3 = 0x8000000000000000 ll
	r4 = 0x80000000 ll
# LD_IMM64 with a pseudo source (LLVM's spelling; Waggle prints its own)
	ld_pseudo r1, 1, 3
	ld_pseudo r2, 2, 7
	ld_pseudo r3, 3, 5
	ld_pseudo r4, 4, 3
	ld_pseudo r5, 5, 0
	ld_pseudo r6, 6, 1
# loads
	r0 = *(u8 *)(r1 + 2)
	r0 = *(u16 *)(r1 + 2)
	r0 = *(u32 *)(r1 - 2)
	r0 = *(u64 *)(r1 + 0)
	w0 = *(u8 *)(r1 + 32767)
	w0 = *(u16 *)(r1 - 32768)
	w0 = *(u32 *)(r10 - 8)
	r0 = *(s8 *)(r1 + 0)
	r0 = *(s16 *)(r1 + 0)
	r0 = *(s32 *)(r1 + 0)
# stores
	*(u8 *)(r10 - 8) = r1
	*(u16 *)(r10 - 8) = r1
	*(u32 *)(r10 - 8) = r1
	*(u64 *)(r10 - 8) = r1
	*(u8 *)(r10 - 8) = w1
	*(u16 *)(r10 - 8) = w1
	*(u32 *)(r10 - 8) = w1
	*(u8 *)(r10 - 8) = 5
	*(u16 *)(r10 - 8) = 5
	*(u32 *)(r10 - 8) = -5
	*(u64 *)(r10 - 8) = -5
# atomics
	lock *(u64 *)(r10 - 8) += r1
	lock *(u64 *)(r1 + 0) |= r2
	lock *(u64 *)(r1 + 0) &= r2
	lock *(u64 *)(r1 + 0) ^= r2
	lock *(u32 *)(r10 - 8) += w1
	lock *(u32 *)(r1 + 0) |= w2
	lock *(u32 *)(r1 + 0) &= w2
	lock *(u32 *)(r1 + 0) ^= w2
	r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)
	r1 = atomic_fetch_or((u64 *)(r10 - 8), r1)
	r1 = atomic_fetch_and((u64 *)(r10 - 8), r1)
	r1 = atomic_fetch_xor((u64 *)(r10 - 8), r1)
	w1 = atomic_fetch_add((u32 *)(r2 + 0), w1)
	w1 = atomic_fetch_or((u32 *)(r2 + 0), w1)
	w1 = atomic_fetch_and((u32 *)(r2 + 0), w1)
	w1 = atomic_fetch_xor((u32 *)(r2 + 0), w1)
	r1 = xchg_64(r10 - 8, r1)
	w1 = xchg32_32(r10 - 8, w1)
	r0 = cmpxchg_64(r10 - 8, r0, r1)
	w0 = cmpxchg32_32(r10 - 8, w0, w1)
# jumps, by offset and by label
LBB0_1:
	goto +3
	goto -1
	goto LBB0_1
	gotol +7
	gotol LBB0_1
	if r1 == r2 goto +1
	if r1 != r2 goto +1
	if r1 > r2 goto +1
	if r1 >= r2 goto +1
	if r1 < r2 goto +1
	if r1 <= r2 goto +1
	if r1 s> r2 goto +1
	if r1 s>= r2 goto +1
	if r1 s< r2 goto +1
	if r1 s<= r2 goto +1
	if r1 & r2 goto +1
	if r1 == 5 goto +1
	if r1 != -5 goto +1
	if r1 > 0x5 goto +3
	if r1 >= 5 goto +1
	if r1 < 5 goto +1
	if r1 <= 5 goto +1
	if r1 s> 5 goto +1
	if r1 s>= 5 goto +1
	if r1 s< 5 goto +1
	if r1 s<= 5 goto +1
	if r1 & 0x2 goto +1
	if w1 == w2 goto +1
	if w1 != w2 goto +1
	if w1 > w2 goto +1
	if w1 >= w2 goto +1
	if w1 < w2 goto +1
	if w1 <= w2 goto +1
	if w1 s> w2 goto +1
	if w1 s>= w2 goto +1
	if w1 s< w2 goto -4
	if w1 s<= w2 goto +1
	if w1 & w2 goto +1
	if w1 == 5 goto +1
	if w1 != 5 goto +1
	if w1 > 5 goto +1
	if w1 >= 5 goto +1
	if w1 < 5 goto +1
	if w1 <= -5 goto +1
	if w1 s> 5 goto +1
	if w1 s>= 5 goto +1
	if w1 s< 5 goto +1
	if w1 s<= 5 goto +1
	if w1 & 5 goto LBB0_1
# calls
	call 5
	call -1
	call entry
	call callee
	callx r1
	exit
# legacy packet loads
	r0 = *(u8 *)skb[12]
	r0 = *(u16 *)skb[12]
	r0 = *(u32 *)skb[-12]
	r0 = *(u8 *)skb[r1]
	r0 = *(u16 *)skb[r2]
	r0 = *(u32 *)skb[r3]
callee:
	r0 = 0
	exit
