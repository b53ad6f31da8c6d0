#!/usr/bin/env bash
# run.sh [BUILD_DIR] - the benchmarks behind BENCHMARKS.md: deepc bench on
# the largest fixture models, and on random-weight models with real shapes
# (Qwen2.5-1.5B dense, DeepSeek-V2-Lite MoE) written to a temporary
# directory, and the tokenizer throughput (bench/tokenizer_bench.c). Models are
# about 11 GiB, deleted afterwards. Prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
fixtures="${DEEPC_FIXTURES:-../shared/fixtures}"
tmp=$(mktemp -d /tmp/deepc-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
cc -O2 -std=c17 -D_GNU_SOURCE -Isrc -Iinclude bench/tokenizer_bench.c "$build/libdeepc.a" \
  $(pkg-config --libs libpcre2-8 libcjson) -lm -lpthread -o "$tmp/tokenizer_bench"
"$tmp/tokenizer_bench" "$fixtures"
for m in tiny-llama-F32 tiny-qwen3moe-F32 tiny-deepseek3-Q4_K_M; do
  "$build/deepc" bench "$fixtures/models/$m.gguf" -p 512 -n 128 -r 3
done
python3 bench/make_random_gguf.py qwen2.5-1.5b "$tmp/qwen2.5-1.5b.gguf"
"$build/deepc" bench "$tmp/qwen2.5-1.5b.gguf" -p 128 -n 32 -r 3
"$build/deepc" bench "$tmp/qwen2.5-1.5b.gguf" --streams 1,4,16 -p 128 -n 32
python3 bench/make_random_gguf.py deepseek-v2-lite "$tmp/deepseek-v2-lite.gguf"
"$build/deepc" bench "$tmp/deepseek-v2-lite.gguf" -p 32 -n 32 -r 3
