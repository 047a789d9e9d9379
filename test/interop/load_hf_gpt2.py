#!/usr/bin/env python3
"""Load a Hugging Face GPT-2 directory the way transformers' GPT2LMHeadModel.from_pretrained reads it, using
only Python and PyTorch (transformers and safetensors are not installable here), run the forward pass and
print the logits as JSON.

What is reproduced of transformers (from transformers/models/gpt2/configuration_gpt2.py, modeling_gpt2.py and
modeling_utils.py):
  * config.json -> GPT2Config: every key GPT2Config.__init__ reads, with its default when absent (vocab_size
    50257, n_positions 1024, n_embd 768, n_layer 12, n_head 12, n_inner None = 4 * n_embd, activation_function
    gelu_new, layer_norm_epsilon 1e-5, scale_attn_weights True, scale_attn_by_inverse_layer_idx False,
    reorder_and_upcast_attn False, bos/eos_token_id 50256) and PretrainedConfig's tie_word_embeddings (True)
    and add_cross_attention (False). The attribute_map aliases (hidden_size, max_position_embeddings,
    num_attention_heads, num_hidden_layers) are set after the named keys and so win, as in transformers.
    transformers requires no key of GPT2Config; AutoConfig / AutoModelForCausalLM need model_type, so
    model_type == "gpt2" is required here. Keys left at their default are listed in the output ("defaulted").
  * model.safetensors parsed from the format spec (8-byte little-endian header length, JSON header, dtype /
    shape / data_offsets, contiguous data); `__metadata__.format` must be one of pt/tf/flax/mlx as
    transformers checks; a missing __metadata__ is refused too (some transformers versions call
    metadata.get without a None check).
  * state dict: keys without the `transformer.` prefix (a GPT2Model checkpoint) are taken as the base model's,
    lm_head.weight is tied to transformer.wte.weight when tie_word_embeddings (absent is fine; present must
    equal wte), the attn.bias / attn.masked_bias buffers of old checkpoints are ignored, every shape must equal
    the one GPT2LMHeadModel(config) builds (transformers raises "size mismatch" too).
    Stricter than transformers: missing and unexpected tensors are refused by name (transformers only warns
    and initializes missing ones randomly).
  * forward: the reference's gpt2_forward (torch_reference.py) when the config is what it implements
    (gelu_new, scale_attn_weights, no inverse-layer scaling); otherwise the local hf_gpt2_forward below, a
    copy of gpt2_forward with ACT2FN[activation_function] and the two attention-scaling options.
    Dropout is off (eval mode). Parameters are cast to --dtype (float32 by default, as from_pretrained does).

Usage:
  load_hf_gpt2.py DIR --ids '[[1,2,3]]' [--dtype float32|float64] [--forward auto|reference|local] [--reference PATH]
  load_hf_gpt2.py --batch JOBS.json      # [{"dir":…, "ids":[[…]], "dtype"?, "forward"?}, …] -> JSON list,
                                         # each {"ok": true, …} or {"ok": false, "error": "…"}
Exit status: 0 ok, 2 the directory cannot be loaded (message on stderr), 1 usage / internal error.
"""
import argparse, json, math, os, re, struct, sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REFERENCE = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "reference", "torch_reference.py"))


class LoadError(Exception):
    """The directory cannot be loaded as GPT2LMHeadModel; the message names the file and field."""


# ------------------------------------------------------------------------------------------ config.json
GPT2_DEFAULTS = {
    "vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12, "n_inner": None,
    "activation_function": "gelu_new", "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1,
    "layer_norm_epsilon": 1e-5, "initializer_range": 0.02, "scale_attn_weights": True, "use_cache": True,
    "bos_token_id": 50256, "eos_token_id": 50256, "scale_attn_by_inverse_layer_idx": False,
    "reorder_and_upcast_attn": False,
    # PretrainedConfig
    "tie_word_embeddings": True, "add_cross_attention": False,
}
ATTRIBUTE_MAP = {"hidden_size": "n_embd", "max_position_embeddings": "n_positions",
                 "num_attention_heads": "n_head", "num_hidden_layers": "n_layer"}
ARCH_KEYS = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head")


def _gelu_new(x):  # transformers NewGELUActivation
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACT2FN = {  # the transformers.activations entries a GPT-2 config can name (others are refused)
    "gelu": F.gelu,
    "gelu_new": _gelu_new,
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_fast": lambda x: 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))),
    "gelu_python": lambda x: x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0))),
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "relu": F.relu, "silu": F.silu, "swish": F.silu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
}


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def read_config(path):
    if not os.path.isfile(path):
        raise LoadError(f"{path}: not found (GPT2LMHeadModel.from_pretrained needs config.json)")
    try:
        with open(path, "rb") as f:
            raw = json.loads(f.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise LoadError(f"{path}: not valid JSON ({e})")
    if not isinstance(raw, dict):
        raise LoadError(f"{path}: expected a JSON object, got {type(raw).__name__}")
    if "model_type" not in raw:
        raise LoadError(f"{path}: model_type: missing (required: AutoConfig / AutoModelForCausalLM dispatch on it; expected \"gpt2\")")
    if raw["model_type"] != "gpt2":
        raise LoadError(f"{path}: model_type: expected \"gpt2\", got {json.dumps(raw['model_type'])}")
    cfg, defaulted = {}, []
    for k, d in GPT2_DEFAULTS.items():
        if k in raw:
            cfg[k] = raw[k]
        else:
            cfg[k] = d
            defaulted.append(k)
    for alias, k in ATTRIBUTE_MAP.items():  # PretrainedConfig.__setattr__ maps these after GPT2Config set its own
        if alias in raw:
            cfg[k] = raw[alias]
            if k in defaulted:
                defaulted.remove(k)
    for k in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
        if not _is_int(cfg[k]) or cfg[k] < 1:
            raise LoadError(f"{path}: {k}: expected a positive integer, got {json.dumps(cfg[k])}")
    if cfg["n_inner"] is not None and (not _is_int(cfg["n_inner"]) or cfg["n_inner"] < 1):
        raise LoadError(f"{path}: n_inner: expected null or a positive integer, got {json.dumps(cfg['n_inner'])}")
    if not isinstance(cfg["layer_norm_epsilon"], (int, float)) or isinstance(cfg["layer_norm_epsilon"], bool) or cfg["layer_norm_epsilon"] <= 0:
        raise LoadError(f"{path}: layer_norm_epsilon: expected a positive number, got {json.dumps(cfg['layer_norm_epsilon'])}")
    if cfg["activation_function"] not in ACT2FN:
        raise LoadError(f"{path}: activation_function: {json.dumps(cfg['activation_function'])} is not one of {sorted(ACT2FN)}")
    for k in ("tie_word_embeddings", "add_cross_attention", "scale_attn_weights", "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
        if not isinstance(cfg[k], bool):
            raise LoadError(f"{path}: {k}: expected true or false, got {json.dumps(cfg[k])}")
    if cfg["add_cross_attention"]:
        raise LoadError(f"{path}: add_cross_attention: true is not supported by this checker (GPT2LMHeadModel would expect crossattention weights)")
    if cfg["n_embd"] % cfg["n_head"] != 0:
        raise LoadError(f"{path}: n_embd ({cfg['n_embd']}) must be divisible by n_head ({cfg['n_head']}) (GPT2Attention raises ValueError)")
    warnings = [f"config.json: {k} absent, GPT2Config's default {GPT2_DEFAULTS[k]} used" for k in ARCH_KEYS if k in defaulted]
    for k in ("bos_token_id", "eos_token_id"):
        v = cfg[k]
        if _is_int(v) and v >= cfg["vocab_size"]:
            src = "absent, GPT2Config's default" if k in defaulted else "set to"
            warnings.append(f"config.json: {k} {src} {v}, outside the vocabulary (vocab_size {cfg['vocab_size']}); "
                            f"generate() would never stop on it")
    return cfg, defaulted, warnings


# ------------------------------------------------------------------------------------------ safetensors
ST_DTYPES = {  # safetensors dtype -> (bytes per element, torch dtype or None when not a float we can load)
    "BOOL": (1, None), "U8": (1, None), "I8": (1, None), "F8_E4M3": (1, None), "F8_E5M2": (1, None),
    "I16": (2, None), "U16": (2, None), "F16": (2, torch.float16), "BF16": (2, torch.bfloat16),
    "I32": (4, None), "U32": (4, None), "F32": (4, torch.float32),
    "I64": (8, None), "U64": (8, None), "F64": (8, torch.float64),
}
MAX_HEADER = 100_000_000  # the Rust safetensors crate's limit


def _no_dup_object(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise LoadError(f"duplicate key {json.dumps(k)} in the JSON header")
        out[k] = v
    return out


def read_safetensors(path):
    """Return (metadata or None, {name: (dtype, shape, tensor)}), validating the file against the format spec."""
    if not os.path.isfile(path):
        raise LoadError(f"{path}: not found")
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise LoadError(f"{path}: {len(buf)} bytes, too small for the 8-byte header length")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > MAX_HEADER:
        raise LoadError(f"{path}: header length {n} exceeds {MAX_HEADER}")
    if 8 + n > len(buf):
        raise LoadError(f"{path}: header length {n} runs past the end of the file ({len(buf)} bytes)")
    hb = buf[8:8 + n]
    if not hb.startswith(b"{"):
        raise LoadError(f"{path}: the header does not start with '{{'")
    try:
        header = json.loads(hb.decode("utf-8"), object_pairs_hook=_no_dup_object)
    except LoadError as e:
        raise LoadError(f"{path}: {e}")
    except (ValueError, UnicodeDecodeError) as e:
        raise LoadError(f"{path}: header is not valid UTF-8 JSON ({e})")
    if not isinstance(header, dict):
        raise LoadError(f"{path}: header is not a JSON object")
    meta = header.pop("__metadata__", None)
    if meta is not None and (not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values())):
        raise LoadError(f"{path}: __metadata__ must map strings to strings")
    data = memoryview(buf)[8 + n:]
    if sys.byteorder != "little":
        raise LoadError("this checker assumes a little-endian host")
    spans, out = [], {}
    for name, info in header.items():
        where = f"{path}: tensor {json.dumps(name)}"
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise LoadError(f"{where}: expected exactly dtype, shape, data_offsets, got {json.dumps(info)}")
        dt, shape, offs = info["dtype"], info["shape"], info["data_offsets"]
        if dt not in ST_DTYPES:
            raise LoadError(f"{where}: unknown dtype {json.dumps(dt)}")
        if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
            raise LoadError(f"{where}: shape must be a list of non-negative integers, got {json.dumps(shape)}")
        if not isinstance(offs, list) or len(offs) != 2 or not all(_is_int(o) and o >= 0 for o in offs) or offs[1] < offs[0]:
            raise LoadError(f"{where}: data_offsets must be [begin, end] with 0 <= begin <= end, got {json.dumps(offs)}")
        size, tdt = ST_DTYPES[dt]
        numel = 1
        for d in shape:
            numel *= d
        if offs[1] - offs[0] != numel * size:
            raise LoadError(f"{where}: data_offsets {offs} span {offs[1] - offs[0]} bytes, but {dt} {shape} needs {numel * size}")
        spans.append((offs[0], offs[1], name))
        out[name] = (dt, shape, offs, tdt)
    pos = 0
    for b, e, name in sorted(spans):
        if b != pos:
            raise LoadError(f"{path}: tensor {json.dumps(name)} starts at byte {b} of the data, expected {pos} (data must be contiguous, no gaps or overlaps)")
        pos = e
    if pos != len(data):
        raise LoadError(f"{path}: the tensors cover {pos} bytes of data, but the file has {len(data)} after the header")
    tensors = {}
    for name, (dt, shape, offs, tdt) in out.items():
        if tdt is None:
            tensors[name] = (dt, shape, None)
            continue
        raw = bytearray(data[offs[0]:offs[1]])
        t = torch.frombuffer(raw, dtype=tdt) if raw else torch.empty(0, dtype=tdt)
        tensors[name] = (dt, shape, t.reshape(shape))
    return meta, tensors


# ------------------------------------------------------------------------------------------ state dict
IGNORED = re.compile(r"(^|\.)h\.\d+\.attn\.(bias|masked_bias)$")  # GPT2Attention buffers in old checkpoints


def expected_shapes(cfg):
    V, P, C, L = cfg["vocab_size"], cfg["n_positions"], cfg["n_embd"], cfg["n_layer"]
    I = cfg["n_inner"] if cfg["n_inner"] is not None else 4 * C
    s = {"transformer.wte.weight": [V, C], "transformer.wpe.weight": [P, C],
         "transformer.ln_f.weight": [C], "transformer.ln_f.bias": [C]}
    for l in range(L):
        h = f"transformer.h.{l}."
        s.update({h + "ln_1.weight": [C], h + "ln_1.bias": [C],
                  h + "attn.c_attn.weight": [C, 3 * C], h + "attn.c_attn.bias": [3 * C],   # Conv1D: [in, out]
                  h + "attn.c_proj.weight": [C, C], h + "attn.c_proj.bias": [C],
                  h + "ln_2.weight": [C], h + "ln_2.bias": [C],
                  h + "mlp.c_fc.weight": [C, I], h + "mlp.c_fc.bias": [I],
                  h + "mlp.c_proj.weight": [I, C], h + "mlp.c_proj.bias": [C]})
    s["lm_head.weight"] = [V, C]
    return s


def state_dict(cfg, tensors, path, dtype):
    """The GPT2LMHeadModel state dict (HF names) built from the file's tensors, cast to dtype."""
    names = list(tensors)
    has_prefix = any(n.startswith("transformer.") for n in names)
    mapped = {}
    for n in names:
        k = n if has_prefix or n == "lm_head.weight" else "transformer." + n
        if k in mapped:
            raise LoadError(f"{path}: tensors {json.dumps(mapped[k])} and {json.dumps(n)} both map to {k}")
        mapped[k] = n
    want = expected_shapes(cfg)
    unexpected = sorted(mapped[k] for k in mapped if k not in want and not IGNORED.search(k))
    if unexpected:
        raise LoadError(f"{path}: unexpected tensor(s) for GPT2LMHeadModel: {', '.join(unexpected)}")
    optional = {"lm_head.weight"} if cfg["tie_word_embeddings"] else set()
    missing = [k for k in want if k not in mapped and k not in optional]
    if missing:
        raise LoadError(f"{path}: missing tensor(s) for GPT2LMHeadModel: {', '.join(missing)}")
    p = {}
    for k, shape in want.items():
        if k not in mapped:
            continue
        dt, got, t = tensors[mapped[k]]
        if got != shape:
            raise LoadError(f"{path}: size mismatch for {mapped[k]}: shape {got} in the file, {shape} in GPT2LMHeadModel(config)")
        if t is None:
            raise LoadError(f"{path}: tensor {mapped[k]} has dtype {dt}; expected a float dtype (F16, BF16, F32, F64)")
        p[k] = t.to(dtype)
    if cfg["tie_word_embeddings"]:
        if "lm_head.weight" in p and not torch.equal(p["lm_head.weight"], p["transformer.wte.weight"]):
            raise LoadError(f"{path}: lm_head.weight differs from transformer.wte.weight but tie_word_embeddings is true "
                            f"(transformers would tie them and use one of the two)")
        p["lm_head.weight"] = p["transformer.wte.weight"]
    return p


# ------------------------------------------------------------------------------------------ tokenizer.json
def check_tokenizer(path, vocab_size):
    if not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as f:
            tok = json.loads(f.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise LoadError(f"{path}: not valid JSON ({e})")
    model = tok.get("model") if isinstance(tok, dict) else None
    if not isinstance(model, dict):
        raise LoadError(f"{path}: model: missing or not an object")
    if model.get("type") != "BPE":
        raise LoadError(f"{path}: model.type: expected \"BPE\", got {json.dumps(model.get('type'))}")
    vocab = model.get("vocab")
    if not isinstance(vocab, dict) or not all(_is_int(v) and v >= 0 for v in vocab.values()):
        raise LoadError(f"{path}: model.vocab: expected an object of token -> non-negative integer id")
    if not isinstance(model.get("merges"), list):
        raise LoadError(f"{path}: model.merges: expected a list")
    added = tok.get("added_tokens", [])
    if not isinstance(added, list) or not all(isinstance(a, dict) and _is_int(a.get("id")) and isinstance(a.get("content"), str) for a in added):
        raise LoadError(f"{path}: added_tokens: expected a list of {{id, content, …}}")
    ids = set(vocab.values()) | {a["id"] for a in added}
    size = max(ids) + 1 if ids else 0
    if size > vocab_size:
        raise LoadError(f"{path}: the tokenizer has ids up to {size - 1}, but config.json vocab_size is {vocab_size}")
    return {"type": "BPE", "vocab": len(vocab), "added_tokens": len(added), "size": size,
            "holes": size - len(ids), "config_vocab_size": vocab_size, "equal": size == vocab_size}


# ------------------------------------------------------------------------------------------ forward
_reference = None


def reference_module(path):
    global _reference
    if _reference is None:
        if not os.path.isfile(path):
            raise LoadError(f"{path}: torch_reference.py not found (give --reference)")
        sys.path.insert(0, os.path.dirname(path))
        import importlib
        _reference = importlib.import_module(os.path.splitext(os.path.basename(path))[0])
    return _reference


def hf_gpt2_forward(p, cfg, idx):
    """GPT2LMHeadModel.forward in eval mode: the reference's gpt2_forward with ACT2FN[activation_function] and
    GPT2Attention's scale_attn_weights / scale_attn_by_inverse_layer_idx."""
    B, T = idx.shape
    C, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    eps, act = cfg["layer_norm_epsilon"], ACT2FN[cfg["activation_function"]]
    x = p["transformer.wte.weight"][idx] + p["transformer.wpe.weight"][:T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for l in range(L):
        h = f"transformer.h.{l}."
        a = F.layer_norm(x, (C,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], eps)
        qkv = a @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=2)
        q, k, v = [t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v)]
        att = q @ k.transpose(-2, -1)
        if cfg["scale_attn_weights"]:
            att = att / math.sqrt(C // H)
        if cfg["scale_attn_by_inverse_layer_idx"]:
            att = att / float(l + 1)
        att = att.masked_fill(~mask, torch.finfo(att.dtype).min).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"]
        m = F.layer_norm(x, (C,), p[h + "ln_2.weight"], p[h + "ln_2.bias"], eps)
        m = act(m @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"])
        x = x + m @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (C,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], eps)
    return x @ p["lm_head.weight"].T


def reference_fits(cfg):
    return (cfg["activation_function"] == "gelu_new" and cfg["scale_attn_weights"]
            and not cfg["scale_attn_by_inverse_layer_idx"])


# ------------------------------------------------------------------------------------------ driver
def load_and_run(d, ids, dtype="float32", forward="auto", reference=DEFAULT_REFERENCE):
    cfg, defaulted, warnings = read_config(os.path.join(d, "config.json"))
    st = os.path.join(d, "model.safetensors")
    if not os.path.isfile(st) and os.path.isfile(os.path.join(d, "model.safetensors.index.json")):
        raise LoadError(f"{d}: sharded checkpoints (model.safetensors.index.json) are not supported by this checker")
    meta, tensors = read_safetensors(st)
    if meta is None:
        raise LoadError(f"{st}: no __metadata__ (transformers expects {{\"format\": \"pt\"}}; some versions fail without it)")
    if meta.get("format") not in ("pt", "tf", "flax", "mlx"):
        raise LoadError(f"{st}: __metadata__.format is {json.dumps(meta.get('format'))}; transformers refuses anything but pt/tf/flax/mlx")
    tdtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    p = state_dict(cfg, tensors, st, tdtype)
    tok = check_tokenizer(os.path.join(d, "tokenizer.json"), cfg["vocab_size"])
    idx = torch.tensor(ids, dtype=torch.long)
    if idx.dim() != 2 or idx.numel() == 0:
        raise LoadError(f"ids: expected a non-empty [batch][time] list, got shape {list(idx.shape)}")
    if idx.min() < 0 or idx.max() >= cfg["vocab_size"]:
        raise LoadError(f"ids: must lie in [0, {cfg['vocab_size']}) (vocab_size)")
    if idx.shape[1] > cfg["n_positions"]:
        raise LoadError(f"ids: {idx.shape[1]} positions, more than n_positions {cfg['n_positions']}")
    if forward == "auto":
        forward = "reference" if reference_fits(cfg) else "local"
    if forward == "reference":
        if not reference_fits(cfg):
            raise LoadError(f"--forward reference: torch_reference.gpt2_forward implements gelu_new with 1/sqrt(d_head) scaling only; "
                            f"this config has activation_function {cfg['activation_function']}")
        fn, used = reference_module(reference).gpt2_forward, "torch_reference.gpt2_forward"
    else:
        fn, used = hf_gpt2_forward, "load_hf_gpt2.hf_gpt2_forward"
    with torch.no_grad():
        logits = fn(p, cfg, idx)
    return {"dir": d, "config": cfg, "defaulted": defaulted, "warnings": warnings, "forward": used, "dtype": dtype,
            "tensors": sorted(tensors), "metadata": meta, "tokenizer": tok, "logits": logits.tolist()}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--ids", help="JSON [batch][time] token ids")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--forward", choices=["auto", "reference", "local"], default="auto")
    ap.add_argument("--reference", default=DEFAULT_REFERENCE, help="path of torch_reference.py")
    ap.add_argument("--batch", help="JSON file with a list of jobs {dir, ids, dtype?, forward?}")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    if a.batch:
        with open(a.batch) as f:
            jobs = json.load(f)
        out = []
        for j in jobs:
            try:
                out.append({"ok": True, **load_and_run(j["dir"], j["ids"], j.get("dtype", "float32"), j.get("forward", "auto"), a.reference)})
            except LoadError as e:
                out.append({"ok": False, "dir": j["dir"], "error": str(e)})
        json.dump(out, sys.stdout)
        sys.stdout.write("\n")
        return 0
    if not a.dir or a.ids is None:
        ap.error("give DIR and --ids, or --batch FILE")
    try:
        r = load_and_run(a.dir, json.loads(a.ids), a.dtype, a.forward, a.reference)
    except LoadError as e:
        sys.stderr.write(f"load_hf_gpt2: {e}\n")
        return 2
    json.dump(r, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
