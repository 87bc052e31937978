/*
 * Runs one function of aarch64 code that the JIT compiled (the raw bytes of
 * a compiled BPF function, position-independent when it calls nothing) on
 * a memory block, as the JIT's entry runs it: bpf(ctx, fp, r1 = memory,
 * r2 = its length, 0, 0, 0). Prints r0 and the run context's status in hex.
 *
 * Usage: aarch64_driver CODE_FILE MEMORY_FILE
 * Built by tests/aarch64.rs with aarch64-linux-gnu-gcc and run under
 * qemu-aarch64.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef uint64_t (*bpf_fn)(void *ctx, uint64_t fp, uint64_t r1, uint64_t r2, uint64_t r3,
			   uint64_t r4, uint64_t r5);

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 20);

	if (!f || !buf) {
		perror(path);
		exit(2);
	}
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* The frames as the JIT lays them out: 8 of 512 bytes below the top. */
static uint64_t stack[8 * 512 / 8] __attribute__((aligned(16)));
/*
 * The run context (waggle-jit's RunCtx, repr(C)): status at 0, exit value
 * at 8, packet start at 16, packet length at 24, lowest frame pointer at
 * 32, has_packet at 40; the rest only matters to calls.
 */
static uint64_t ctx[64];

int main(int argc, char **argv)
{
	size_t code_len, mem_len;
	uint8_t *code, *mem;
	void *exec;
	uint64_t top, r0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s CODE_FILE MEMORY_FILE\n", argv[0]);
		return 2;
	}
	code = slurp(argv[1], &code_len);
	mem = slurp(argv[2], &mem_len);
	exec = mmap(NULL, code_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (exec == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	memcpy(exec, code, code_len);
	if (mprotect(exec, code_len, PROT_READ | PROT_EXEC)) {
		perror("mprotect");
		return 2;
	}
	__builtin___clear_cache((char *)exec, (char *)exec + code_len);
	top = (uint64_t)(stack + sizeof(stack) / sizeof(stack[0]));
	ctx[2] = mem_len ? (uint64_t)mem : 0;
	ctx[3] = mem_len;
	ctx[4] = (uint64_t)stack;
	((uint8_t *)ctx)[40] = mem_len != 0;
	r0 = ((bpf_fn)exec)(ctx, top, mem_len ? (uint64_t)mem : 0, mem_len, 0, 0, 0);
	printf("%llx %llx\n", (unsigned long long)r0, (unsigned long long)ctx[0]);
	return 0;
}
