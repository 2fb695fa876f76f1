#!/usr/bin/env python3
"""The PyTorch peer of rapo's model benchmarks: a Llama-style decoder of the same shape as
tools/bench/lib/train-step.ts (RMSNorm, rotary positions, grouped-query attention, SwiGLU,
tied embeddings), doing the same work as the TypeScript side:

  train     forward, log-softmax at the targets (loss on the last three quarters of each
            row), backward; median seconds per step after one warm-up step
  generate  greedy decoding with a key/value cache: a 16-token prompt per row, then
            `--new-tokens` tokens one step at a time; seconds for the whole loop

It prints one JSON object on stdout. Run by `npm run bench:training` and `npm run bench:model`
when python3 can import torch (Debian/Ubuntu: apt-get install python3-torch); never a
dependency of rapo itself.
"""
import argparse
import ctypes
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F


class Decoder(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        h, v, inter = c["hidden_size"], c["vocab_size"], c["intermediate_size"]
        self.heads, self.kv_heads = c["num_attention_heads"], c["num_key_value_heads"]
        self.head_dim = h // self.heads
        self.eps = c.get("rms_norm_eps", 1e-5)
        gen = torch.Generator().manual_seed(1)

        def p(*shape, scale=0.02):
            return torch.nn.Parameter(torch.randn(*shape, generator=gen) * scale)

        self.embed = p(v, h)
        self.layers = torch.nn.ModuleList()
        for _ in range(c["num_hidden_layers"]):
            layer = torch.nn.Module()
            layer.ln1 = torch.nn.Parameter(torch.ones(h))
            layer.ln2 = torch.nn.Parameter(torch.ones(h))
            layer.q = p(self.heads * self.head_dim, h)
            layer.k = p(self.kv_heads * self.head_dim, h)
            layer.v = p(self.kv_heads * self.head_dim, h)
            layer.o = p(h, self.heads * self.head_dim)
            layer.gate = p(inter, h)
            layer.up = p(inter, h)
            layer.down = p(h, inter)
            self.layers.append(layer)
        self.norm = torch.nn.Parameter(torch.ones(h))
        theta = c.get("rope_theta", 10000.0)
        inv = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim))
        pos = torch.arange(c.get("max_position_embeddings", 512), dtype=torch.float32)
        freqs = torch.outer(pos, inv)
        self.register_buffer("cos", torch.cat([freqs, freqs], -1).cos(), persistent=False)
        self.register_buffer("sin", torch.cat([freqs, freqs], -1).sin(), persistent=False)

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def rope(self, x, start):
        t = x.shape[2]
        cos, sin = self.cos[start : start + t], self.sin[start : start + t]
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * cos + rotated * sin

    def forward(self, ids, cache=None, start=0):
        """Logits [B, T, V]; with `cache` (a list per layer, filled in place) keys and values are kept."""
        b, t = ids.shape
        x = F.embedding(ids, self.embed)
        group = self.heads // self.kv_heads
        for i, layer in enumerate(self.layers):
            y = self.rms(x, layer.ln1)
            q = F.linear(y, layer.q).view(b, t, self.heads, self.head_dim).transpose(1, 2)
            k = F.linear(y, layer.k).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
            v = F.linear(y, layer.v).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
            q, k = self.rope(q, start), self.rope(k, start)
            if cache is not None:
                if len(cache) > i:
                    k = torch.cat([cache[i][0], k], 2)
                    v = torch.cat([cache[i][1], v], 2)
                    cache[i] = (k, v)
                else:
                    cache.append((k, v))
            k = k.repeat_interleave(group, 1)
            v = v.repeat_interleave(group, 1)
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim)
            if t > 1:
                s = k.shape[2]
                mask = torch.ones(t, s, dtype=torch.bool).tril(s - t)
                scores = scores.masked_fill(~mask, float("-inf"))
            att = torch.softmax(scores, -1) @ v
            x = x + F.linear(att.transpose(1, 2).reshape(b, t, -1), layer.o)
            y = self.rms(x, layer.ln2)
            x = x + F.linear(F.silu(F.linear(y, layer.gate)) * F.linear(y, layer.up), layer.down)
        return F.linear(self.rms(x, self.norm), self.embed)


def train(model, batch, seq, runs, min_seconds):
    v = model.c["vocab_size"]
    ids = torch.tensor([[(b * 131 + t * 31) % v for t in range(seq)] for b in range(batch)])
    targets = ids[:, 1:]
    mask = (torch.arange(seq - 1) + 1 >= seq // 4).float().expand(batch, -1)
    times = []
    start = time.perf_counter()
    r = 0
    while r <= runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        model.zero_grad(set_to_none=True)
        logp = torch.log_softmax(model(ids)[:, :-1], -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        loss = -(logp * mask).sum() / mask.sum()
        loss.backward()
        if r > 0:
            times.append(time.perf_counter() - t0)
        r += 1
    return statistics.median(times)


@torch.no_grad()
def generate(model, batch, new_tokens):
    v = model.c["vocab_size"]
    prompt = torch.tensor([[(b * 7 + t * 13) % v for t in range(16)] for b in range(batch)])

    def run(n):
        cache = []
        logits = model(prompt, cache, 0)
        pos = prompt.shape[1]
        for _ in range(n):
            token = logits[:, -1].argmax(-1, keepdim=True)
            logits = model(token, cache, pos)
            pos += 1

    run(4)  # warm-up
    t0 = time.perf_counter()
    run(new_tokens)
    return time.perf_counter() - t0


def openblas_core():
    """The kernel family of the OpenBLAS this process loaded (torch's BLAS on Debian), or None."""
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("task", choices=["train", "generate"])
    ap.add_argument("--config", required=True, help="the model config as JSON (rapo's ModelConfig fields)")
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--seq", type=int, default=128, help="train: tokens per row")
    ap.add_argument("--new-tokens", type=int, default=256, help="generate: tokens to decode")
    ap.add_argument("--runs", type=int, default=3, help="train: measured steps at least")
    ap.add_argument("--min-seconds", type=float, default=0.0, help="train: keep measuring until this much time passed")
    ap.add_argument("--threads", type=int, required=True)
    a = ap.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(a.threads)
    model = Decoder(json.loads(a.config))
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blasCore": openblas_core()}
    if a.task == "train":
        s = train(model, a.batch, a.seq, a.runs, a.min_seconds)
        out.update(secondsPerStep=s, tokensPerSecond=a.batch * a.seq / s)
    else:
        s = generate(model, a.batch, a.new_tokens)
        out.update(seconds=s, tokensPerSecond=a.batch * a.new_tokens / s)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
