/* SPDX-License-Identifier: Apache-2.0 */
/*
 * char_class — classifies the first 512 bytes of the L4 payload with a
 * switch, as the lexer of an L7 protocol parser does: letters, digits,
 * whitespace, line ends, separators and control bytes each update their own
 * state (token hash, number value, counters).
 *
 * Measures: a dense multi-way branch per byte, with unpredictable targets
 * on binary data.
 *
 * Result: a mix of the per-class state; 0 if the frame has no TCP/UDP
 * payload.
 */
#include "bench.h"

#define MAX_BYTES 512

static __always_inline __u64 bench_char_class(const __u8 *data, const __u8 *data_end)
{
	int off = bench_payload_offset(data, data_end);
	__u32 token = 0x811c9dc5, number = 0, words = 0, lines = 0, seps = 0, other = 0;
	__u64 acc = 0;
	const __u8 *payload;
	__u32 i;

	if (off < 0)
		return 0;
	payload = data + off;
	for (i = 0; i < MAX_BYTES; i++) {
		__u8 c;

		if (payload + i + 1 > data_end)
			break;
		c = payload[i];
		switch (c) {
		case 'a' ... 'z':
			token = (token ^ c) * 0x01000193;
			break;
		case 'A' ... 'Z':
			token = (token ^ (c | 0x20)) * 0x01000193;
			break;
		case '0' ... '9':
			number = number * 10 + (c - '0');
			break;
		case ' ':
		case '\t':
			acc += token;
			token = 0x811c9dc5;
			words++;
			break;
		case '\r':
			break;
		case '\n':
			acc ^= (__u64)number << 32;
			number = 0;
			lines++;
			break;
		case ':':
		case '/':
		case '.':
		case '-':
		case '=':
		case ';':
		case ',':
			seps += c;
			break;
		default:
			other += c ^ i;
			break;
		}
	}
	return acc + token + ((__u64)number << 7) + ((__u64)words << 40) + ((__u64)lines << 48) +
	       ((__u64)seps << 20) + other;
}

BENCH_PROGRAM(char_class)
