#!/usr/bin/env bash
# run.sh BUILD_DIR SECONDS - runs every libFuzzer target built in BUILD_DIR
# (fuzz_*) for SECONDS each, from a seed corpus made of fixture files.
# A crash, leak or sanitizer report fails the run (libFuzzer exits nonzero).
set -euo pipefail
build="$1"
seconds="$2"
fixtures="${DEEPC_FIXTURES:-../shared/fixtures}"
for target in "$build"/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus="$build/corpus-$name"
  mkdir -p "$corpus"
  case "$name" in
    fuzz_gguf)
      for m in tiny-qwen3-Q4_K_M tiny-llama-F32 tiny-qwen2-IQ4_XS; do
        head -c 65536 "$fixtures/models/$m.gguf" > "$corpus/seed-$m"
      done ;;
    fuzz_template)
      for t in "$fixtures"/chat_templates/*.jinja; do
        cp "$t" "$corpus/seed-$(basename "$t")"
      done ;;
    fuzz_tokenizer)
      # every 8th qwen3 text of cases.jsonl, raw, behind a byte picking the tokenizer
      python3 -c '
import json, sys
for i, line in enumerate(open(sys.argv[1], encoding="utf-8")):
    c = json.loads(line)
    if c["family"] == "qwen3" and i % 8 == 0:
        open(sys.argv[2] + "/seed-" + c["name"], "wb").write(bytes([i & 1]) + c["text"].encode())
' "$fixtures/tokenizers/cases.jsonl" "$corpus" ;;
    fuzz_request)
      # request bodies behind a byte picking the endpoint (even: chat, odd: completions)
      printf '\0%s' '{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"text","text":"there"}]},{"role":"assistant","content":null,"reasoning":"r","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"1","content":"42"}],"temperature":0.7,"top_p":0.9,"top_k":40,"min_p":0.05,"seed":-3,"max_tokens":16,"stop":["a","b"],"logprobs":true,"top_logprobs":3,"stream":true,"stream_options":{"include_usage":true},"chat_template_kwargs":{"enable_thinking":false},"reasoning_budget":-1,"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":"auto","response_format":{"type":"text"}}' > "$corpus/seed-chat"
      printf '\1%s' '{"prompt":"The quick brown fox","max_tokens":4,"logprobs":2,"stop":"x","presence_penalty":0.5,"frequency_penalty":-0.5,"repeat_penalty":1.1,"n":1}' > "$corpus/seed-completion"
      printf '\1%s' '{"prompt":[1,2,3],"echo":false,"stream":false}' > "$corpus/seed-completion-ids" ;;
  esac
  echo "fuzzing $name for ${seconds}s"
  "$target" -max_total_time="$seconds" -max_len=131072 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$build/" "$corpus" 2>&1 | tail -n 3
done
