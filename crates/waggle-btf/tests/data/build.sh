#!/bin/sh
# Rebuilds the test objects from the C files beside this script. Needs
# clang-19 and llvm-strip-19 (Debian: clang-19, llvm-19) and the Linux UAPI
# and libbpf headers (linux-libc-dev, libbpf-dev). Debug sections other than
# .BTF/.BTF.ext are stripped and source paths are made relative, so the
# objects do not depend on where the repository is checked out.
set -eu
cd "$(dirname "$0")"
for src in *.bpf.c; do
	obj="${src%.bpf.c}.o"
	clang-19 -target bpf -g -O2 -fdebug-prefix-map="$PWD"=. \
		-I/usr/include/x86_64-linux-gnu -c "$src" -o "$obj"
	llvm-strip-19 --strip-debug "$obj"
	echo "built $obj ($(wc -c < "$obj") bytes)"
done
