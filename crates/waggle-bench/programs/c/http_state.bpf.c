/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_state — a small state machine that parses an HTTP/1.x request head
 * in the L4 payload: method, target, version, then header lines up to the
 * empty line. It counts header lines, hashes the method and the header
 * names, and measures the target; a byte that is invalid in its state ends
 * the parse.
 *
 * Measures: a switch on the state nested with tests on the byte, one
 * transition per byte, as DPI engines run.
 *
 * Result: headers in bits 56-63, the final state in bits 48-55, target
 * length in bits 32-47, method hash ^ header-name hash in the low 32 bits;
 * 0 if the frame has no TCP/UDP payload.
 */
#include "bench.h"

#define MAX_HEAD 1024

enum state {
	S_METHOD,
	S_TARGET,
	S_VERSION,
	S_LINE_CR,
	S_LINE_START,
	S_NAME,
	S_VALUE,
	S_END_CR,
	S_DONE,
	S_ERROR,
};

static __always_inline __u64 bench_http_state(const __u8 *data, const __u8 *data_end)
{
	int off = bench_payload_offset(data, data_end);
	__u32 state = S_METHOD, headers = 0, target = 0, hash = 0x811c9dc5;
	const __u8 *payload;
	__u32 i;

	if (off < 0)
		return 0;
	payload = data + off;
	for (i = 0; i < MAX_HEAD; i++) {
		__u8 c;

		if (payload + i + 1 > data_end)
			break;
		c = payload[i];
		switch (state) {
		case S_METHOD:
			if (c >= 'A' && c <= 'Z')
				hash = (hash ^ c) * 0x01000193;
			else if (c == ' ' && i > 0)
				state = S_TARGET;
			else
				state = S_ERROR;
			break;
		case S_TARGET:
			if (c == ' ')
				state = S_VERSION;
			else if (c > ' ' && c < 0x7f)
				target++;
			else
				state = S_ERROR;
			break;
		case S_VERSION:
		case S_VALUE:
			if (c == '\r')
				state = S_LINE_CR;
			else if (c < ' ' && c != '\t')
				state = S_ERROR;
			break;
		case S_LINE_CR:
			state = c == '\n' ? S_LINE_START : S_ERROR;
			break;
		case S_LINE_START:
			if (c == '\r') {
				state = S_END_CR;
				break;
			}
			headers++;
			state = S_NAME;
			/* The byte is the name's first. */
			__attribute__((fallthrough));
		case S_NAME:
			if (c == ':')
				state = S_VALUE;
			else if (c > ' ' && c < 0x7f)
				hash = (hash ^ (c | 0x20)) * 0x01000193;
			else
				state = S_ERROR;
			break;
		case S_END_CR:
			state = c == '\n' ? S_DONE : S_ERROR;
			break;
		}
		if (state >= S_DONE)
			break;
	}
	return ((__u64)headers << 56) | ((__u64)state << 48) | ((__u64)(target & 0xffff) << 32) |
	       hash;
}

BENCH_PROGRAM(http_state)
