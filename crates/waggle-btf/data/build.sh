#!/bin/sh
# Rebuilds waggle_types.btf from waggle_types.bpf.c. Needs clang-19 and
# llvm-objcopy-19 (Debian: apt-get install clang-19 llvm-19) and the Linux
# UAPI headers (linux-libc-dev). The output is deterministic: the same
# compiler and headers give the same bytes.
#
# The .BTF section is not SHF_ALLOC, so `llvm-objcopy -O binary
# --only-section=.BTF` writes an empty file; --dump-section extracts it.
set -eu
cd "$(dirname "$0")"
obj=$(mktemp)
trap 'rm -f "$obj"' EXIT
clang-19 -target bpf -g -O2 -fdebug-prefix-map="$PWD"=. \
	-I/usr/include/x86_64-linux-gnu -c waggle_types.bpf.c -o "$obj"
llvm-objcopy-19 --dump-section .BTF=waggle_types.btf "$obj" /dev/null
echo "wrote $(wc -c < waggle_types.btf) bytes to waggle_types.btf"
