#!/usr/bin/env bash
# Rebuilds the test objects from their C sources. Needs clang-19 and libbpf's
# headers (Debian: apt-get install clang-19 libbpf-dev).
set -euo pipefail
cd "$(dirname "$0")"
command -v clang-19 >/dev/null || { echo "clang-19 not found: apt-get install clang-19 libbpf-dev" >&2; exit 1; }
for src in *.bpf.c; do
    clang-19 -target bpf -O2 -g -mcpu=v3 -I/usr/include/x86_64-linux-gnu \
        -fdebug-prefix-map="$PWD"=. -c "$src" -o "${src%.c}.o"
done
