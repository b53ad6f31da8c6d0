#!/usr/bin/env python3
"""make_random_gguf.py CONFIG OUT.gguf - writes a GGUF with a real model's
architecture and shapes but random weights, for speed benchmarks of models too
big to keep as fixtures. Write it to a temporary directory; never commit it.

Matrices are Q4_K (Q8_0 where a row is not a multiple of 256), filled from a
repeated block of random bytes with fixed, small scales (weights read cost the
same whatever their values); routers and norms are F32. No tokenizer: drive it
with token ids (deepc bench).

CONFIG: deepseek-v2-lite (DeepSeek-V2-Lite: 15.7B total, 2.4B active),
        qwen2.5-1.5b (Qwen2.5-1.5B / DeepSeek-R1-Distill-Qwen-1.5B shapes)."""
import os, random, struct, sys

CONFIGS = {
    "deepseek-v2-lite": dict(arch="deepseek2", n_embd=2048, n_layer=27, n_head=16, n_ff=10944, n_ff_exp=1408,
                             n_expert=64, n_expert_used=6, n_shared=2, n_dense_lead=1, kv_lora=512, q_lora=0,
                             qk_nope=128, qk_rope=64, v_head=128, n_vocab=102400, ctx=163840),
    "qwen2.5-1.5b": dict(arch="qwen2", n_embd=1536, n_layer=28, n_head=12, n_head_kv=2, n_ff=8960, n_vocab=151936,
                         ctx=32768),
}
F32, Q8_0, Q4_K = 0, 8, 12
BLOCK = {Q8_0: (32, 34), Q4_K: (256, 144)}


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return gguf_string(key) + struct.pack("<I", vtype) + payload


def u32(key, v): return kv(key, 4, struct.pack("<I", v))
def f32(key, v): return kv(key, 6, struct.pack("<f", v))
def boolean(key, v): return kv(key, 7, struct.pack("<B", v))
def string(key, v): return kv(key, 8, gguf_string(v))


def metadata(c):
    a = c["arch"]
    if a == "qwen2":
        return [
            string("general.architecture", a), string("general.name", "random-" + sys.argv[1]),
            u32(f"{a}.context_length", c["ctx"]), u32(f"{a}.embedding_length", c["n_embd"]),
            u32(f"{a}.block_count", c["n_layer"]), u32(f"{a}.feed_forward_length", c["n_ff"]),
            u32(f"{a}.attention.head_count", c["n_head"]), u32(f"{a}.attention.head_count_kv", c["n_head_kv"]),
            f32(f"{a}.rope.freq_base", 1e6), f32(f"{a}.attention.layer_norm_rms_epsilon", 1e-6)]
    return [
        string("general.architecture", a), string("general.name", "random-" + sys.argv[1]),
        u32(f"{a}.context_length", c["ctx"]), u32(f"{a}.embedding_length", c["n_embd"]),
        u32(f"{a}.block_count", c["n_layer"]), u32(f"{a}.feed_forward_length", c["n_ff"]),
        u32(f"{a}.attention.head_count", c["n_head"]), u32(f"{a}.attention.head_count_kv", 1),
        f32(f"{a}.rope.freq_base", 10000.0), f32(f"{a}.attention.layer_norm_rms_epsilon", 1e-6),
        u32(f"{a}.leading_dense_block_count", c["n_dense_lead"]), u32(f"{a}.attention.q_lora_rank", c["q_lora"]),
        u32(f"{a}.attention.kv_lora_rank", c["kv_lora"]),
        u32(f"{a}.attention.key_length", c["kv_lora"] + c["qk_rope"]), u32(f"{a}.attention.value_length", c["kv_lora"]),
        u32(f"{a}.attention.key_length_mla", c["qk_nope"] + c["qk_rope"]),
        u32(f"{a}.attention.value_length_mla", c["v_head"]),
        u32(f"{a}.expert_feed_forward_length", c["n_ff_exp"]), u32(f"{a}.expert_count", c["n_expert"]),
        u32(f"{a}.expert_used_count", c["n_expert_used"]), u32(f"{a}.expert_shared_count", c["n_shared"]),
        u32(f"{a}.rope.dimension_count", c["qk_rope"]), string(f"{a}.rope.scaling.type", "yarn"),
        f32(f"{a}.rope.scaling.factor", 40.0), u32(f"{a}.rope.scaling.original_context_length", 4096),
        f32(f"{a}.rope.scaling.yarn_log_multiplier", 0.0707), f32(f"{a}.expert_weights_scale", 1.0),
        u32(f"{a}.expert_gating_func", 1), boolean(f"{a}.expert_weights_norm", 0),
    ]


def mat(ne0):
    return Q4_K if ne0 % 256 == 0 else Q8_0


def dense_tensors(c):
    """qwen2: q/k/v biases, tied embeddings."""
    d, hd = c["n_embd"], c["n_embd"] // c["n_head"]
    kv = c["n_head_kv"] * hd
    out = [("token_embd.weight", [d, c["n_vocab"]], Q4_K), ("output_norm.weight", [d], F32)]
    for il in range(c["n_layer"]):
        b = f"blk.{il}."
        out += [(b + "attn_norm.weight", [d], F32), (b + "attn_q.weight", [d, d], mat(d)),
                (b + "attn_k.weight", [d, kv], mat(d)), (b + "attn_v.weight", [d, kv], mat(d)),
                (b + "attn_q.bias", [d], F32), (b + "attn_k.bias", [kv], F32), (b + "attn_v.bias", [kv], F32),
                (b + "attn_output.weight", [d, d], mat(d)), (b + "ffn_norm.weight", [d], F32),
                (b + "ffn_gate.weight", [d, c["n_ff"]], mat(d)), (b + "ffn_up.weight", [d, c["n_ff"]], mat(d)),
                (b + "ffn_down.weight", [c["n_ff"], d], mat(c["n_ff"]))]
    return out


def tensors(c):
    """(name, ne, type) of every tensor, in GGUF order."""
    if c["arch"] == "qwen2":
        return dense_tensors(c)
    d, nh, lora, rope = c["n_embd"], c["n_head"], c["kv_lora"], c["qk_rope"]
    out = [("token_embd.weight", [d, c["n_vocab"]], Q4_K), ("output_norm.weight", [d], F32),
           ("output.weight", [d, c["n_vocab"]], Q4_K)]
    for il in range(c["n_layer"]):
        b = f"blk.{il}."
        out += [(b + "attn_norm.weight", [d], F32), (b + "attn_q.weight", [d, nh * (c["qk_nope"] + rope)], mat(d)),
                (b + "attn_kv_a_mqa.weight", [d, lora + rope], mat(d)), (b + "attn_kv_a_norm.weight", [lora], F32),
                (b + "attn_k_b.weight", [c["qk_nope"], lora, nh], mat(c["qk_nope"])),
                (b + "attn_v_b.weight", [lora, c["v_head"], nh], mat(lora)),
                (b + "attn_output.weight", [nh * c["v_head"], d], mat(nh * c["v_head"])),
                (b + "ffn_norm.weight", [d], F32)]
        if il < c["n_dense_lead"]:
            out += [(b + "ffn_gate.weight", [d, c["n_ff"]], mat(d)), (b + "ffn_up.weight", [d, c["n_ff"]], mat(d)),
                    (b + "ffn_down.weight", [c["n_ff"], d], mat(c["n_ff"]))]
        else:
            e, ff, sh = c["n_expert"], c["n_ff_exp"], c["n_ff_exp"] * c["n_shared"]
            out += [(b + "ffn_gate_inp.weight", [d, e], F32),
                    (b + "ffn_gate_exps.weight", [d, ff, e], mat(d)), (b + "ffn_up_exps.weight", [d, ff, e], mat(d)),
                    (b + "ffn_down_exps.weight", [ff, d, e], mat(ff)),
                    (b + "ffn_gate_shexp.weight", [d, sh], mat(d)), (b + "ffn_up_shexp.weight", [d, sh], mat(d)),
                    (b + "ffn_down_shexp.weight", [sh, d], mat(sh))]
    return out


def nbytes(ne, t):
    n = 1
    for x in ne:
        n *= x
    if t == F32:
        return 4 * n
    bs, ts = BLOCK[t]
    return n // bs * ts


def pattern(t, rng):
    """64 KiB of valid blocks of type t with small fixed scales."""
    bs, ts = BLOCK[t]
    count = 65536 // ts
    scale = struct.pack("<e", 1e-4 if t == Q4_K else 2e-3)
    blocks = []
    for _ in range(count):
        body = bytes(rng.getrandbits(8) for _ in range(ts - (4 if t == Q4_K else 2)))
        blocks.append(scale + scale + body if t == Q4_K else scale + body)
    return b"".join(blocks)


def write_data(fh, name, ne, t, pat, rng):
    n = nbytes(ne, t)
    if t != F32:
        full, rest = divmod(n, len(pat[t]))
        for _ in range(full):
            fh.write(pat[t])
        fh.write(pat[t][:rest])
    elif "norm" in name or name.endswith(".bias"):
        fh.write(struct.pack("<f", 1.0) * (n // 4))
    else:
        fh.write(struct.pack(f"<{n // 4}f", *(rng.gauss(0.0, 0.05) for _ in range(n // 4))))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in CONFIGS:
        sys.exit(__doc__)
    c, rng = CONFIGS[sys.argv[1]], random.Random(1)
    ts = tensors(c)
    meta = metadata(c)
    infos, offset = b"", 0
    for name, ne, t in ts:
        infos += gguf_string(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
        infos += struct.pack("<IQ", t, offset)
        offset += (nbytes(ne, t) + 31) // 32 * 32
    head = b"GGUF" + struct.pack("<IQQ", 3, len(ts), len(meta)) + b"".join(meta) + infos
    pat = {Q8_0: pattern(Q8_0, rng), Q4_K: pattern(Q4_K, rng)}
    with open(sys.argv[2], "wb") as fh:
        fh.write(head + b"\0" * ((-len(head)) % 32))
        for name, ne, t in ts:
            write_data(fh, name, ne, t, pat, rng)
            fh.write(b"\0" * ((-nbytes(ne, t)) % 32))
    print(f"wrote {sys.argv[2]}: {len(ts)} tensors, {offset / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
