#!/usr/bin/env bash
# test_shared_checkers.sh DEEPC - runs the reviewers' own checkers from
# ../shared/tools on the CLI, exactly as the work is judged: logits and greedy
# ids of every dense fixture, and seeded corrupt GGUF files.
set -euo pipefail
deepc="$1"
fixtures="${DEEPC_FIXTURES:-../shared/fixtures}"
tools="$(dirname "$fixtures")/tools"
python3 "$tools/check-logits" "$deepc" '^tiny-(llama|qwen2|qwen2-tied|qwen3)-[A-Z0-9_]+\.gguf$' "$fixtures/models"
python3 "$tools/check-corrupt-gguf" "$deepc" "$fixtures/models/tiny-qwen3-Q4_K_M.gguf" "$fixtures/models/tiny-llama-F32.gguf"
