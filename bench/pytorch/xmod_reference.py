"""X-MOD in PyTorch eager, transcribed from Hugging Face's modeling_xmod.py (XmodForMaskedLM).

The baseline XModHub is measured against, and the independent reference its C# model is checked
against: same parameter names, same semantics (post-norm with the module after the reused FFN
LayerNorm; pre-norm with adapter LayerNorm and final encoder LayerNorm), HF's routing by runs of
consecutive language ids. Reads XModHub model directories (config.json, trunk.safetensors,
modules/*.safetensors) with numpy alone.

  python3 xmod_reference.py encode MODEL_DIR REQUEST_JSON    -> JSON {"last_hidden_state": [[[...]]]}
  python3 xmod_reference.py bench-train CONFIG_JSON ...      -> JSON timings (see bench_train)
"""
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "F16": np.float16, "U8": np.uint8, "BOOL": np.bool_}


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(array.copy())
    return out




class Adapter(nn.Module):
    def __init__(self, c):
        super().__init__()
        b = c["hidden_size"] // c["adapter_reduction_factor"]
        self.dense1 = nn.Linear(c["hidden_size"], b)
        self.dense2 = nn.Linear(b, c["hidden_size"])

    def forward(self, x):
        return self.dense2(F.gelu(self.dense1(x)))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def forward(self, x, mask):
        b, t, h = x.shape
        hs = h // self.heads
        split = lambda y: y.view(b, t, self.heads, hs).permute(0, 2, 1, 3)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hs)
        if mask is not None:
            scores = scores + mask
        probs = self.dropout(F.softmax(scores, dim=-1))
        return torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous().view(b, t, h)


class SelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = SelfOutput(c)
        self.pre_norm = c["pre_norm"]

    def forward(self, x, mask):
        residual = x
        if self.pre_norm:
            x = self.output.LayerNorm(x)
        out = self.output.dropout(self.output.dense(self.self(x, mask))) + residual
        if not self.pre_norm:
            out = self.output.LayerNorm(out)
        return out


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])


class Output(nn.Module):
    def __init__(self, c, keys):
        super().__init__()
        self.dense = nn.Linear(c["intermediate_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.ln_before_adapter = c["ln_before_adapter"]
        self.adapter_reuse_layer_norm = c["adapter_reuse_layer_norm"]
        self.adapter_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"]) if c["adapter_layer_norm"] else None
        self.adapter_modules = nn.ModuleDict({k: Adapter(c) for k in keys})

    def forward(self, hidden, residual_in, runs):
        hidden = self.dropout(self.dense(hidden)) + residual_in
        if not self.ln_before_adapter:
            residual = hidden
        if self.adapter_layer_norm is not None:
            hidden = self.adapter_layer_norm(hidden)
        elif self.adapter_reuse_layer_norm:
            hidden = self.LayerNorm(hidden)
        if self.ln_before_adapter:
            residual = hidden
        # HF: torch.unique_consecutive over lang_ids, split along the batch, one module per run.
        parts = torch.split(hidden, [n for _, n in runs], 0)
        hidden = torch.cat([self.adapter_modules[k](p) for (k, _), p in zip(runs, parts)], 0)
        return self.dropout(hidden) + residual


class Layer(nn.Module):
    def __init__(self, c, keys):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = Output(c, keys)
        self.pre_norm = c["pre_norm"]

    def forward(self, x, mask, runs):
        a = self.attention(x, mask)
        residual = a
        if self.pre_norm:
            a = self.output.LayerNorm(a)
        out = self.output(F.gelu(self.intermediate.dense(a)), residual, runs)
        if not self.pre_norm:
            out = self.output.LayerNorm(out)
        return out


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.pad = c["pad_token_id"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], h, padding_idx=self.pad)
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], h, padding_idx=self.pad)
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], h)
        self.LayerNorm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, ids):
        mask = ids.ne(self.pad).int()
        positions = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + self.pad
        x = self.word_embeddings(ids) + self.token_type_embeddings(torch.zeros_like(ids)) + self.position_embeddings(positions)
        return self.dropout(self.LayerNorm(x))


class Encoder(nn.Module):
    def __init__(self, c, keys):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c, keys) for _ in range(c["num_hidden_layers"])])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"]) if c["pre_norm"] else None


class Roberta(nn.Module):
    def __init__(self, c, keys):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c, keys)


class LMHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.bias = nn.Parameter(torch.zeros(c["vocab_size"]))


class XmodForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.keys = ["shared"] if c.get("xmod_shared_module") else list(c["languages"])
        self.roberta = Roberta(c, self.keys)
        self.lm_head = LMHead(c)

    def key(self, lang):
        return "shared" if self.config.get("xmod_shared_module") else lang

    def encode(self, ids, langs, attention_mask=None):
        runs = []
        for lang in langs:  # runs of consecutive equal languages, as HF's unique_consecutive
            k = self.key(lang)
            if runs and runs[-1][0] == k:
                runs[-1] = (k, runs[-1][1] + 1)
            else:
                runs.append((k, 1))
        mask = None
        if attention_mask is not None:
            mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        x = self.roberta.embeddings(ids)
        for layer in self.roberta.encoder.layer:
            x = layer(x, mask, runs)
        if self.roberta.encoder.LayerNorm is not None:
            x = self.roberta.encoder.LayerNorm(x)
        return x

    def lm_logits(self, hidden):
        x = self.lm_head.layer_norm(F.gelu(self.lm_head.dense(hidden)))
        return F.linear(x, self.roberta.embeddings.word_embeddings.weight, self.lm_head.bias)


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    model = XmodForMaskedLM(c)
    state = load_safetensors(os.path.join(model_dir, "trunk.safetensors"))
    for k in model.keys:
        state.update(load_safetensors(os.path.join(model_dir, "modules", k + ".safetensors")))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit(f"state mismatch: missing {missing[:3]} unexpected {unexpected[:3]}")
    return model


def encode_command(model_dir, request_path):
    """request: {"ids": [[...], ...], "languages": [...], "attention_mask": [[...]] or null}"""
    with open(request_path) as f:
        request = json.load(f)
    model = load_model(model_dir).eval()
    mask = request.get("attention_mask")
    with torch.no_grad():
        out = model.encode(torch.tensor(request["ids"]), request["languages"], torch.tensor(mask) if mask else None)
    json.dump({"last_hidden_state": out.tolist()}, sys.stdout)


def bench_train(config_path, batch, length, steps, warmup, threads, seed=1):
    """Seconds per MLM training step (masked-only LM head, AdamW, clipping), as XModHub's step."""
    torch.set_num_threads(threads)
    with open(config_path) as f:
        c = json.load(f)
    torch.manual_seed(seed)
    model = XmodForMaskedLM(c).train()
    no_decay = lambda n: n.endswith(".bias") or "LayerNorm" in n or "layer_norm" in n
    groups = [
        {"params": [p for n, p in model.named_parameters() if not no_decay(n)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if no_decay(n)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=1e-4, betas=(0.9, 0.98), eps=1e-6)
    lang = c["languages"][0]
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(4):
        ids = torch.randint(4, c["vocab_size"] - 1, (batch, length), generator=gen)
        positions = torch.nonzero(torch.rand(batch * length, generator=gen) < 0.15).squeeze(1)
        batches.append((ids, positions, ids.view(-1)[positions].clone()))
    times = []
    for step in range(warmup + steps):
        ids, positions, targets = batches[step % len(batches)]
        t0 = time.perf_counter()
        hidden = model.encode(ids, [lang] * batch).view(-1, c["hidden_size"])
        loss = F.cross_entropy(model.lm_logits(hidden.index_select(0, positions)), targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step >= warmup:
            times.append(time.perf_counter() - t0)
    json.dump({"seconds_per_step": sorted(times)[len(times) // 2], "threads": torch.get_num_threads(), "torch": torch.__version__}, sys.stdout)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "encode":
        encode_command(sys.argv[2], sys.argv[3])
    elif cmd == "bench-train":
        bench_train(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
    else:
        raise SystemExit(f"unknown command {cmd}")
