#!/usr/bin/env bash
# test_cli_text.sh DEEPC - `deepc run` and `deepc chat` end to end on fixture
# models: streamed completion, ids output, seeds, clear errors (invalid UTF-8,
# prompt longer than the context), a scripted multi-turn chat with reasoning
# shown apart from the answer and /save, and an interactive session under a
# pseudo-terminal (tmux): prompt, streaming, Ctrl-C mid-answer returning to
# the prompt, /exit.
set -uo pipefail
deepc="$1"
fixtures="${DEEPC_FIXTURES:-../shared/fixtures}"
r1="$fixtures/models/tiny-qwen2-Q8_0.gguf"      # R1-Distill-Qwen template (opens <think>)
qwen3="$fixtures/models/tiny-qwen3-Q4_K_M.gguf" # Qwen3 template
tmp=$(mktemp -d)
sock="deepc-test-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# --version: the library's version, one line
v=$("$deepc" --version) || fail "--version exited $?"
[[ "$v" =~ ^deepc\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version printed '$v'"

# run -n 0: the prompt is read, nothing generated
z=$("$deepc" run "$qwen3" --tokens 1,2,3 -n 0 --temp 0 --print-ids) || fail "run -n 0 exited $?"
[ "$z" = "[]" ] || fail "run -n 0 printed '$z'"

# run: text completion streams something and exits 0
out=$("$deepc" run "$qwen3" -p "The quick brown fox" -n 12 --temp 0 2>"$tmp/err") || fail "run -p exited $?: $(cat "$tmp/err")"
[ -n "$out" ] || fail "run -p printed nothing"

# run: greedy text equals the decoded greedy ids (same tokens either way)
ids=$("$deepc" run "$qwen3" -p "The quick brown fox" -n 12 --temp 0 --print-ids) || fail "run --print-ids failed"
[[ "$ids" =~ ^\[[0-9]+(,[0-9]+)*\]$ ]] || fail "run --print-ids printed '$ids'"

# run: a seed makes sampling reproducible; another seed differs
a=$("$deepc" run "$qwen3" -p "Hello" -n 24 --temp 1.5 --top-k 0 --top-p 1 --min-p 0 --seed 7 --print-ids --ignore-eos)
b=$("$deepc" run "$qwen3" -p "Hello" -n 24 --temp 1.5 --top-k 0 --top-p 1 --min-p 0 --seed 7 --print-ids --ignore-eos)
c=$("$deepc" run "$qwen3" -p "Hello" -n 24 --temp 1.5 --top-k 0 --top-p 1 --min-p 0 --seed 8 --print-ids --ignore-eos)
[ "$a" = "$b" ] || fail "same seed gave different ids: $a vs $b"
[ "$a" != "$c" ] || fail "different seeds gave the same 24 ids"

# run: invalid UTF-8 prompt -> one-line error, exit 1
"$deepc" run "$qwen3" -p $'abc\xff\xfe' -n 4 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "UTF-8" "$tmp/err" || fail "invalid UTF-8: rc $rc, '$(cat "$tmp/err")'"

# run: prompt longer than the context -> one-line error, exit 1
long=$(printf 'word %.0s' $(seq 1 200))
"$deepc" run "$qwen3" -c 64 -p "$long" -n 4 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "context" "$tmp/err" || fail "long prompt: rc $rc, '$(cat "$tmp/err")'"

# chat, scripted (stdin not a terminal): two turns, reasoning apart from the
# answer (the R1 template opens <think>; the budget closes it after 6 tokens), /save
printf 'Hello there\nAnd a second question\n/save %s\n' "$tmp/conv.json" |
  "$deepc" chat "$r1" -n 24 --temp 0 --think on --reasoning-budget 6 >"$tmp/chat.out" 2>"$tmp/chat.err" || fail "chat exited $?: $(cat "$tmp/chat.err")"
[ "$(grep -c '^<think>$' "$tmp/chat.out")" -eq 2 ] || fail "chat: expected 2 reasoning blocks: $(cat "$tmp/chat.out")"
[ "$(grep -c '^</think>$' "$tmp/chat.out")" -eq 2 ] || fail "chat: reasoning not closed twice: $(cat "$tmp/chat.out")"
[ "$(grep -c 'tokens/s' "$tmp/chat.err")" -eq 2 ] || fail "chat: no tokens/s after each answer: $(cat "$tmp/chat.err")"
python3 - "$tmp/conv.json" <<'PY' || fail "chat: /save wrote a wrong conversation"
import json, sys
m = json.load(open(sys.argv[1]))
assert [x["role"] for x in m] == ["user", "assistant", "user", "assistant"], m
assert m[0]["content"] == "Hello there" and m[2]["content"] == "And a second question", m
assert all("reasoning_content" in x for x in m[1::2]), m
PY

# chat: thinking is on by default (enable_thinking true, as llama.cpp), off with --think off
printf 'Hello there\n' | "$deepc" chat "$r1" -n 8 --temp 0 >"$tmp/default.out" 2>/dev/null
grep -q '^<think>$' "$tmp/default.out" || fail "chat: no reasoning by default: $(cat "$tmp/default.out")"
printf 'Hello there\n' | "$deepc" chat "$r1" -n 8 --temp 0 --think off >"$tmp/off.out" 2>/dev/null
grep -q '<think>' "$tmp/off.out" && fail "chat --think off showed reasoning: $(cat "$tmp/off.out")"

# chat, --hide-think: no reasoning shown
printf 'Hello there\n' | "$deepc" chat "$r1" -n 16 --temp 0 --think on --reasoning-budget 4 --hide-think >"$tmp/hide.out" 2>/dev/null
grep -q '<think>' "$tmp/hide.out" && fail "chat --hide-think showed reasoning"

# chat, interactive under a pseudo-terminal: Ctrl-C mid-answer returns to the prompt
if command -v tmux >/dev/null; then
  tmux -L "$sock" new-session -d -s chat -x 200 -y 50 "'$deepc' chat '$qwen3' -c 4096 --ignore-eos -t 1 2>&1; echo EXITED \$? ; sleep 30"
  sleep 1
  tmux -L "$sock" send-keys -t chat "Tell me a long story" Enter
  sleep 1
  tmux -L "$sock" send-keys -t chat C-c
  sleep 1
  tmux -L "$sock" capture-pane -p -t chat >"$tmp/pane1"
  grep -q "interrupted" "$tmp/pane1" || fail "Ctrl-C did not interrupt the answer: $(tail -5 "$tmp/pane1")"
  tmux -L "$sock" send-keys -t chat "/think off" Enter
  sleep 0.5
  tmux -L "$sock" send-keys -t chat "/exit" Enter
  sleep 1
  tmux -L "$sock" capture-pane -p -t chat >"$tmp/pane2"
  grep -q "thinking off" "$tmp/pane2" || fail "prompt did not come back after Ctrl-C: $(tail -5 "$tmp/pane2")"
  grep -q "EXITED 0" "$tmp/pane2" || fail "/exit did not end the chat cleanly: $(tail -5 "$tmp/pane2")"
else
  fail "tmux is not installed (scripts/setup.sh installs it)"
fi

[ $fails -eq 0 ] && echo "cli text: all checks passed" || echo "cli text: $fails check(s) failed"
exit $((fails > 0))
