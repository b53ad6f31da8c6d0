#!/usr/bin/env bash
# test_server_smoke.sh DEEPC - end-to-end checks of `deepc serve` (docs/server-api.md)
# on a tiny fixture model: startup line, auth, every endpoint, streamed and
# non-streamed generation (the stream's deltas must equal the non-streamed
# message), error classes and statuses, keep-alive after a stream,
# pipelining, a client vanishing mid-stream (its slot must free), a clean
# exit 0 on SIGINT (under ASan that includes no leaks), --timeout, 503 while
# the model loads, and the refusal to listen beyond loopback without a key.
# Needs python3.
set -euo pipefail
deepc="$(realpath "$1")"
fixtures="${DEEPC_FIXTURES:-../shared/fixtures}"
exec python3 - "$deepc" "$fixtures/models/tiny-qwen3-Q8_0.gguf" <<'EOF'
import http.client, json, os, re, signal, socket, subprocess, sys, time

deepc, model = sys.argv[1], sys.argv[2]
KEY = "test-key"
srv = subprocess.Popen([deepc, "serve", model, "--port", "0", "--api-key", KEY, "--parallel", "2", "-c", "256",
                        "--max-body", "100000"], stderr=subprocess.PIPE, text=True)
line = srv.stderr.readline()
m = re.fullmatch(r"deepc serve: listening on http://127\.0\.0\.1:(\d+)\n", line)
assert m, line
port = int(m.group(1))
failures = 0

def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)

def request(method, path, body=None, headers=None, auth=True, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"Content-Type": "application/json"}
    if auth: h["Authorization"] = "Bearer " + KEY
    h.update(headers or {})
    c.request(method, path, body=json.dumps(body) if isinstance(body, (dict, list)) else body, headers=h)
    r = c.getresponse()
    data = r.read()
    return r, data

for _ in range(100):  # the model loads after the socket is bound
    if request("GET", "/health", auth=False)[0].status == 200: break
    time.sleep(0.1)

def error(status, method, path, body=None, param=None, code=None, **kw):
    r, data = request(method, path, body, **kw)
    check(r.status == status, f"{method} {path} {body!r:.80}: status {r.status}, want {status}")
    e = json.loads(data).get("error", {})
    check(set(e) == {"message", "type", "param", "code"}, f"error shape {data!r:.200}")
    if param: check(e.get("param") == param, f"param {e.get('param')}, want {param}")
    if code: check(e.get("code") == code, f"code {e.get('code')}, want {code}")
    return r

# auth
r = error(401, "GET", "/v1/models", auth=False, code="invalid_api_key")
check(r.getheader("WWW-Authenticate") == "Bearer", "WWW-Authenticate")
error(401, "GET", "/v1/models", headers={"Authorization": "Bearer wrong"})
r, data = request("GET", "/health", auth=False)
check(r.status == 200 and json.loads(data) == {"status": "ok"}, "health")
check(r.getheader("Access-Control-Allow-Origin") == "*", "CORS header")

# models, web page, metrics
r, data = request("GET", "/v1/models")
models = json.loads(data)
check(models["object"] == "list" and models["data"][0]["id"] == "tiny-qwen3-Q8_0", f"models {data!r}")
r, data = request("GET", "/v1/models/tiny-qwen3-Q8_0")
check(r.status == 200 and json.loads(data)["owned_by"] == "deepc", "model by id")
error(404, "GET", "/v1/models/nope", code="model_not_found")
r, data = request("GET", "/")
check(r.status == 200 and r.getheader("Content-Type") == "text/html; charset=utf-8" and
      "default-src 'self'" in r.getheader("Content-Security-Policy", ""), "web page")
r, _ = request("OPTIONS", "/v1/chat/completions", auth=False)
check(r.status == 204 and "POST" in r.getheader("Access-Control-Allow-Methods", ""), "preflight")

# generation
chat = {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 12, "temperature": 0}
r, data = request("POST", "/v1/chat/completions", chat)
check(r.status == 200, f"chat {r.status} {data!r:.200}")
resp = json.loads(data)
msg = resp["choices"][0]["message"]
check(resp["object"] == "chat.completion" and msg["role"] == "assistant", "chat shape")
check(resp["usage"]["completion_tokens"] == 12 and resp["choices"][0]["finish_reason"] == "length", "chat usage")

conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
r, data = request("POST", "/v1/chat/completions", dict(chat, stream=True, stream_options={"include_usage": True}),
                  conn=conn)
check(r.getheader("Content-Type") == "text/event-stream", "stream content type")
events = [e[6:] for e in data.decode().split("\n\n") if e]
check(events[-1] == "[DONE]", "stream ends with [DONE]")
chunks = [json.loads(e) for e in events[:-1]]
check(chunks[0]["choices"][0]["delta"].get("role") == "assistant", "first delta has the role")
check(chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 12, "usage chunk")
check(chunks[-2]["choices"][0]["finish_reason"] == "length", "final chunk")
text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1])
check(text == msg["content"], f"stream {text!r} != {msg['content']!r}")
r, data = request("GET", "/health", conn=conn)  # keep-alive after the stream
check(r.status == 200, "keep-alive after a stream")

r, data = request("POST", "/v1/completions", {"prompt": "The quick", "max_tokens": 4, "temperature": 0, "logprobs": 2})
c = json.loads(data)
check(r.status == 200 and c["object"] == "text_completion" and len(c["choices"][0]["logprobs"]["tokens"]) == 4,
      f"completions {data!r:.300}")
r, data = request("POST", "/v1/chat/completions", dict(chat, max_tokens=2, logprobs=True, top_logprobs=3))
lp = json.loads(data)["choices"][0]["logprobs"]["content"]
check(len(lp) == 2 and len(lp[0]["top_logprobs"]) == 3 and all(0 <= b < 256 for b in lp[0]["bytes"]), "logprobs")

# errors
P = "/v1/chat/completions"
error(400, "POST", P, "{not json")
error(400, "POST", P, {"messages": []}, param="messages")
error(400, "POST", P, {"messages": [{"role": "wizard", "content": "x"}]}, param="messages[0].role")
error(400, "POST", P, dict(chat, temperature=3), param="temperature")
error(400, "POST", P, dict(chat, max_tokens=-1), param="max_tokens")
error(400, "POST", P, dict(chat, n=2), param="n")
error(400, "POST", P, {"messages": [{"role": "user", "content": "hello " * 400}]}, code="context_length_exceeded")
error(404, "POST", P, dict(chat, model="gpt-4"), code="model_not_found")
error(404, "GET", "/nope")
r = error(405, "GET", P)
check(r.getheader("Allow", "").startswith("POST"), "Allow header")
error(413, "POST", P, "x" * 100001, code="request_too_large")
error(400, "POST", "/v1/completions", {"prompt": "x", "echo": True}, param="echo")

# pipelining: three requests in one write, answered in order
s = socket.create_connection(("127.0.0.1", port))
auth = f"Authorization: Bearer {KEY}\r\n".encode()
body = json.dumps(dict(chat, max_tokens=2)).encode()
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + auth +
          b"Content-Length: %d\r\n\r\n%s" % (len(body), body) +
          b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth +
          b"\r\n")
out = b""
while chunk := s.recv(65536): out += chunk
s.close()
check(out.count(b"HTTP/1.1 200 OK") == 3 and out.index(b"chat.completion") < out.index(b'"status":"ok"') <
      out.index(b'"object":"list"'), f"pipelining {out!r:.300}")

# a client that vanishes mid-stream frees its slot
s = socket.create_connection(("127.0.0.1", port))
body = json.dumps({"messages": [{"role": "user", "content": "Hi"}], "stream": True}).encode()
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: %d\r\n\r\n%s" %
          (len(body), body))
s.recv(4096)
s.close()
for _ in range(50):
    metrics = request("GET", "/metrics")[1].decode()
    if "deepc_slots_active 0" in metrics: break
    time.sleep(0.1)
check("deepc_slots_active 0" in metrics, "slot freed after a disconnect")
for name in ["deepc_requests_total{status=\"200\"}", "deepc_prompt_tokens_total", "deepc_generated_tokens_total",
             "deepc_prefix_cache_hits_total", "deepc_cached_prompt_tokens_total", "deepc_queue_depth",
             "deepc_slots_total 2", "deepc_kv_cache_used_ratio", "deepc_tokens_per_second"]:
    check(name in metrics, f"metric {name}")

srv.send_signal(signal.SIGINT)
rc = srv.wait(timeout=30)
rest = srv.stderr.read()
check(rc == 0, f"exit status {rc} on SIGINT: {rest}")

def start(*args):
    global port
    p = subprocess.Popen([deepc, "serve", *args, "--port", "0"], stderr=subprocess.PIPE, text=True)
    port = int(re.search(r":(\d+)$", p.stderr.readline().strip()).group(1))
    return p

# --timeout: a request that runs out of time finishes with "length"
srv = start(model, "--timeout", "1")
while request("GET", "/health", auth=False)[0].status != 200: time.sleep(0.1)
r, data = request("POST", "/v1/completions", {"prompt": "Hi", "seed": 1, "max_tokens": 100000}, auth=False)
c = json.loads(data)
check(r.status == 200 and c["choices"][0]["finish_reason"] == "length" and c["usage"]["completion_tokens"] < 4000,
      f"--timeout: {data[-300:]!r}")
srv.send_signal(signal.SIGTERM)
check(srv.wait(timeout=30) == 0, "exit 0 on SIGTERM")

# while the model loads (here: a FIFO nobody writes yet) everything but /health is 503
fifo = f"/tmp/deepc-test-server-{os.getpid()}.gguf"
os.mkfifo(fifo)
try:
    srv = start(fifo)
    r, data = request("GET", "/health", auth=False)
    check(r.status == 503 and json.loads(data) == {"status": "loading"}, f"loading health {data!r}")
    error(503, "GET", "/v1/models", auth=False)
    os.close(os.open(fifo, os.O_WRONLY))  # lets the loader's open return: not a regular file
    check(srv.wait(timeout=30) == 1, "a model that cannot be loaded: exit 1")
finally:
    os.unlink(fifo)

# a non-loopback address needs a key
p = subprocess.run([deepc, "serve", model, "--host", "0.0.0.0", "--port", "0"], capture_output=True, text=True)
check(p.returncode == 1 and p.stderr.count("\n") == 1, f"non-loopback without a key: {p.returncode} {p.stderr!r}")
print(f"{failures} failure(s)")
sys.exit(1 if failures else 0)
EOF
