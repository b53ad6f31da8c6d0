#!/usr/bin/env bash
# test_shared_checkers.sh DEEPC - runs the reviewers' own checkers from
# ../shared/tools on the CLI, exactly as the work is judged: logits and greedy
# ids of every fixture model, seeded corrupt GGUF files, tokenizer cases and
# chat-template cases.
set -euo pipefail
deepc="$1"
fixtures="${DEEPC_FIXTURES:-../shared/fixtures}"
tools="$(dirname "$fixtures")/tools"
python3 "$tools/check-logits" "$deepc" '^tiny-' "$fixtures/models"
python3 "$tools/check-corrupt-gguf" "$deepc" "$fixtures/models/tiny-qwen3-Q4_K_M.gguf" "$fixtures/models/tiny-llama-F32.gguf"
python3 "$tools/check-tokenizer" "$deepc" "$fixtures/tokenizers" "$fixtures/tokenizers/cases.jsonl"
python3 "$tools/check-templates" "$deepc" "$fixtures/chat_templates" "$fixtures/chat_templates/cases.json"
