/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parse_options — walks the IPv4 options and then the TCP options of a
 * frame (no VLAN tag), as a SYN-proxy or MSS clamper does: EOL ends a list,
 * NOP is one byte, every other option is type, length, value. MSS, window
 * scale and timestamp values are picked out; every option's type and length
 * are folded into a digest.
 *
 * Measures: TLV walks whose steps come from the packet (variable pointer
 * offsets the kernel verifier must bound), one bounds check per option.
 *
 * Result: digest in bits 32-63, MSS in bits 16-31, window scale in bits
 * 8-15, option count in bits 0-7; 0 if the frame is not IPv4 TCP.
 */
#include "bench.h"

#define MAX_OPT_BYTES 40

/*
 * Walks the options in [start, start + len), len <= 40, a byte at a time:
 * `skip` counts down the rest of the option being passed over. Stepping by
 * one byte keeps every load at a constant offset from `start`, so the
 * kernel verifier does not have to follow offsets built from option lengths
 * (whose ranges differ on every path, defeating its state pruning).
 */
static __always_inline __u32 walk_options(const __u8 *start, __u32 len, const __u8 *data_end,
					  __u32 *digest, __u32 *mss, __u32 *wscale)
{
	__u32 skip = 0, count = 0, i;

	for (i = 0; i < MAX_OPT_BYTES; i++) {
		const __u8 *opt = start + i;
		__u32 type, olen;

		if (i >= len || opt + 1 > data_end)
			break;
		if (skip) {
			skip--;
			continue;
		}
		type = opt[0];
		if (type == 0)
			break;
		if (type == 1)
			continue;
		if (opt + 2 > data_end)
			break;
		olen = opt[1];
		if (olen < 2)
			break;
		if (type == 2 && olen == 4 && opt + 4 <= data_end)
			*mss = bench_be16(opt + 2);
		else if (type == 3 && olen == 3 && opt + 3 <= data_end)
			*wscale = opt[2];
		else if (type == 8 && olen == 10 && opt + 10 <= data_end)
			*digest ^= bench_load32(opt + 2);
		*digest = *digest * 0x01000193 ^ (type << 8 | olen);
		count++;
		skip = olen - 1;
	}
	return count;
}

static __always_inline __u64 bench_parse_options(const __u8 *data, const __u8 *data_end)
{
	const __u8 *ip = data + 14, *tcp;
	__u32 ihl, doff, digest = 0x811c9dc5, mss = 0, wscale = 0, count;

	if (ip + 20 > data_end || bench_be16(data + 12) != 0x0800 || ip[9] != 6)
		return 0;
	ihl = ip[0] & 0xf;
	if (ihl < 5)
		return 0;
	count = walk_options(ip + 20, ihl * 4 - 20, data_end, &digest, &mss, &wscale);
	tcp = ip + ihl * 4;
	if (tcp + 20 > data_end)
		return 0;
	doff = tcp[12] >> 4;
	if (doff < 5)
		return 0;
	count += walk_options(tcp + 20, doff * 4 - 20, data_end, &digest, &mss, &wscale);
	return ((__u64)digest << 32) | (mss << 16) | (wscale << 8) | (count & 0xff);
}

BENCH_PROGRAM(parse_options)
