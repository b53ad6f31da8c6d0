#!/usr/bin/env bash
# test_cli_bench.sh DEEPC - `deepc bench`'s options and output shapes on a
# fixture model (no timing is asserted: speed claims live in BENCHMARKS.md):
# lists for -p/-n/-t run every combination, -o json is one valid JSON array
# in llama-bench's field names with r samples each, -o md is a table, -p 0
# skips the prompt test, bad values exit 2 with one line, --streams reports
# each stream count and the cached-prefix time to first token.
set -uo pipefail
deepc="$1"
model="${DEEPC_FIXTURES:-../shared/fixtures}/models/tiny-qwen2-Q8_0.gguf"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

json=$("$deepc" bench "$model" -p 16,32 -n 4 -r 2 -t 1,2 -o json) || fail "bench -o json exited $?"
python3 - "$json" <<'PY' || fail "bench -o json: wrong shape"
import json, sys
rows = json.loads(sys.argv[1])
assert len(rows) == 6, len(rows)
tests = sorted((r["n_threads"], r["n_prompt"], r["n_gen"]) for r in rows)
assert tests == [(1, 0, 4), (1, 16, 0), (1, 32, 0), (2, 0, 4), (2, 16, 0), (2, 32, 0)], tests
for r in rows:
    assert r["model_filename"] == "tiny-qwen2-Q8_0.gguf" and r["model_size"] > 0
    assert len(r["samples_ts"]) == 2 and all(x > 0 for x in r["samples_ts"])
    assert abs(r["avg_ts"] - sum(r["samples_ts"]) / 2) < 1e-3 * r["avg_ts"] and r["stddev_ts"] >= 0
PY

md=$("$deepc" bench "$model" -p 0 -n 4 -r 1 -t 1) || fail "bench -o md exited $?"
[ "$(grep -c '^| tiny-qwen2-Q8_0.gguf ' <<<"$md")" = 1 ] || fail "bench -p 0 -n 4: expected one row: $md"
grep -q '| 1 | tg4 | ' <<<"$md" || fail "bench md: no tg4 row: $md"

for bad in "-p x" "-r 0" "-o csv" "-t 0" "--bogus"; do
  # shellcheck disable=SC2086
  err=$("$deepc" bench "$model" $bad 2>&1 >/dev/null); rc=$?
  [ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] || fail "bench $bad: exit $rc, '$err'"
done

s=$("$deepc" bench "$model" --streams 1,3 -p 16 -n 4 -t 1) || fail "bench --streams exited $?"
grep -q "^streams   1: " <<<"$s" && grep -q "^streams   3: " <<<"$s" && grep -q "with 0 tokens cached" <<<"$s" ||
  fail "bench --streams output: $s"

[ $fails = 0 ] && echo "cli bench: all checks passed" || { echo "cli bench: $fails failure(s)"; exit 1; }
