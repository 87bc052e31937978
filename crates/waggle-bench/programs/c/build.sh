#!/usr/bin/env bash
# Rebuild every crates/waggle-bench/programs/c/*.bpf.o from its *.bpf.c
# source.
#
# Usage: crates/waggle-bench/programs/c/build.sh        (from anywhere)
#        CLANG=/path/to/clang crates/waggle-bench/programs/c/build.sh
#
# Needs clang 19 with the BPF target and the libbpf headers:
#   apt-get install clang-19 libbpf-dev
#
# The objects are committed, so building and testing waggle-bench needs no
# BPF compiler; the native row (build.rs) compiles the same sources for the
# host. The output is deterministic: the compiler runs inside this folder on
# relative paths, and the DWARF compilation directory is set to "." so no
# absolute path of the checkout ends up in the objects. Running it twice
# gives byte-identical files.
#
# Every object must pass the kernel verifier; to check (as root, bpffs
# mounted at /sys/fs/bpf):
#   for o in *.bpf.o; do bpftool prog loadall "$o" /sys/fs/bpf/wb && rm -r /sys/fs/bpf/wb; done
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

CLANG="${CLANG:-clang-19}"
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "error: $CLANG not found; install it with: apt-get install clang-19 libbpf-dev" >&2
	exit 2
fi
if [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
	echo "error: libbpf headers not found (/usr/include/bpf); install them with: apt-get install libbpf-dev" >&2
	exit 2
fi

# asm/types.h for the UAPI headers lives under the multiarch include folder.
MULTIARCH_INC=/usr/include/$(uname -m)-linux-gnu

CFLAGS=(-target bpf -O2 -g -mcpu=v3
	-Wall -Werror
	-I"$MULTIARCH_INC"
	-fdebug-compilation-dir=.
	-fdebug-prefix-map="$PWD"=.)

shopt -s nullglob
sources=(*.bpf.c)
if [ ${#sources[@]} -eq 0 ]; then
	echo "error: no *.bpf.c sources in $PWD" >&2
	exit 2
fi

for src in "${sources[@]}"; do
	obj="${src%.c}.o"
	echo "  CC  $obj"
	"$CLANG" "${CFLAGS[@]}" -c "$src" -o "$obj"
done
