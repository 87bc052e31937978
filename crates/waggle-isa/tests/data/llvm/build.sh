#!/bin/sh
# Regenerates the LLVM oracle files the llvm_syntax test reads, so the test
# itself needs no LLVM. Requires clang-19, llvm-mc-19, llvm-objdump-19 and
# llvm-objcopy-19.
#
# grid: one slot per opcode (except LD_IMM64) and a few field values chosen
# per class to reach every instruction form, as raw bytes: the test compares
# every slot Waggle decodes with what LLVM prints for it.
#
# For each program NAME:
#   NAME.o                    the object file
#   NAME.bin                  its .text section, raw
#   NAME.objdump.txt          llvm-objdump-19 -d --mcpu=v4 (the format Waggle matches)
#   NAME.objdump-noalu32.txt  llvm-objdump-19 -d without ALU32 (only accepted by Waggle)
set -eu
cd "$(dirname "$0")"

grid_s=$(mktemp)
trap 'rm -f "$grid_s"' EXIT
awk 'function slot(op, regs, off, imm) {
	off = (off + 65536) % 65536
	imm = (imm + 4294967296) % 4294967296
	printf ".byte %d, %d, %d, %d, %d, %d, %d, %d\n", op, regs, off % 256, int(off / 256),
		imm % 256, int(imm / 256) % 256, int(imm / 65536) % 256, int(imm / 16777216)
}
BEGIN {
	print "\t.text"
	for (op = 0; op < 256; op++) {
		class = op % 8
		x = int(op / 8) % 2
		if (op == 24) continue  # LD_IMM64 takes two slots; forms.s covers it
		if (class == 4 || class == 7) {  # ALU: offsets select signed ops and movsx, imm the swap width
			regs = x ? 33 : 1
			slot(op, regs, 0, -5); slot(op, regs, 0, 16); slot(op, regs, 0, 32); slot(op, regs, 0, 64)
			slot(op, regs, 1, 7); slot(op, regs, 8, 0); slot(op, regs, 16, 0); slot(op, regs, 32, 0)
		} else if (class == 5 || class == 6) {  # JMP: helper calls, ja and exit take no registers
			regs = (op == 5 || op == 6 || op == 133 || op == 149) ? 0 : x ? 33 : 1
			slot(op, regs, 32767, 65); slot(op, regs, -32768, -1)
		} else if (class == 0) {  # LD_ABS and LD_IND
			regs = int(op / 32) == 2 ? 32 : 0
			slot(op, regs, 0, 12); slot(op, regs, 0, -1)
		} else if (class == 1) {
			slot(op, 33, 32767, 0); slot(op, 33, -32768, 0)
		} else if (class == 2) {
			slot(op, 1, -8, -5); slot(op, 1, 32767, 2147483647)
		} else {  # STX: the immediate selects the atomic operation
			split("0 1 64 65 80 81 160 161 225 241", imms, " ")
			for (i = 1; i <= 10; i++) slot(op, 33, -8, imms[i])
		}
	}
}' >"$grid_s"
llvm-mc-19 -triple bpfel -mcpu=v4 -filetype=obj "$grid_s" -o grid.o
llvm-mc-19 -triple bpfel -mcpu=v4 -filetype=obj forms.s -o forms.o
clang-19 -target bpf -O2 -mcpu=v3 -c prog.c -o prog-v3.o
clang-19 -target bpf -O2 -mcpu=v4 -c prog.c -o prog-v4.o

for name in grid forms prog-v3 prog-v4; do
	llvm-objcopy-19 -O binary --only-section=.text "$name.o" "$name.bin"
	llvm-objdump-19 -d --mcpu=v4 "$name.o" >"$name.objdump.txt"
	llvm-objdump-19 -d "$name.o" >"$name.objdump-noalu32.txt"
done
