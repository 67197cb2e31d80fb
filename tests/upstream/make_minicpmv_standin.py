"""python make_minicpmv_standin.py OUT CORPUS.txt   (run with .venv-minicpmv/bin/python)

Writes a tiny random model folder with MiniCPM-Llama3-V-2_5's interface (about 0.2 M parameters), loadable
with ``AutoModel.from_pretrained(OUT, trust_remote_code=True)`` and ``AutoTokenizer`` the same way:
  - the remote-code files of minicpmv_remote/ (config, model, resampler, tokenizer class) and config.json
    with their auto_map; Llama 2 layers of hidden 64, an Idefics2 vision tower of 2 layers, 4 queries per
    image, slice config with scale_resolution 56 (so a 1280x720 frame becomes a few 4x5-patch slices);
  - tokenizer.json: one token per character of CORPUS (plus ASCII), MiniCPM-V's special tokens
    (<image> </image> <slice> </slice> <unk>) and Llama 3's (<|begin_of_text|> <|end_of_text|>
    <|start_header_id|> <|end_header_id|> <|eot_id|>); "user", "assistant" and "\\n\\n" are single tokens, as
    in Llama 3's vocabulary, which upstream dataset.py's label masking counts on; the Llama 3 chat template.
"""

from __future__ import annotations

import json
import shutil
import string
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
           "<unk>", "<image>", "</image>", "<slice>", "</slice>"]
WORDS = ["user", "assistant", "\n\n"]
# Llama 3's template; the model's chat() asks for the assistant's turn by ending with its header.
CHAT_TEMPLATE = ("{% for message in messages %}{% set content = '<|start_header_id|>' + message['role'] + "
                 "'<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
                 "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
                 "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}")


def write_tokenizer(out: Path, corpus: str) -> int:
    from tokenizers import AddedToken, Tokenizer, decoders, models

    chars = sorted(set(corpus) | set(string.printable))
    vocab = {tok: i for i, tok in enumerate(SPECIAL + [c for c in chars if c not in SPECIAL])}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))  # no merges: one token per character
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL])
    tok.add_tokens([AddedToken(w, normalized=False) for w in WORDS])
    tok.save(str(out / "tokenizer.json"))
    special = {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "unk_token": "<unk>"}
    (out / "special_tokens_map.json").write_text(json.dumps(special, indent=2))
    conf = {**special, "tokenizer_class": "MiniCPMVTokenizerFast", "model_max_length": 2048,
            "clean_up_tokenization_spaces": False, "chat_template": CHAT_TEMPLATE,
            "auto_map": {"AutoTokenizer": [None, "tokenization_minicpmv_fast.MiniCPMVTokenizerFast"]}}
    (out / "tokenizer_config.json").write_text(json.dumps(conf, ensure_ascii=False, indent=2))
    return tok.get_vocab_size()


def main(out: Path, corpus: str) -> None:
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    out.mkdir(parents=True, exist_ok=True)
    for f in (HERE / "minicpmv_remote").glob("*.py"):
        shutil.copy2(f, out / f.name)
    vocab = write_tokenizer(out, corpus)
    tok = AutoTokenizer.from_pretrained(str(out), trust_remote_code=True)
    config = {
        "architectures": ["MiniCPMV"], "model_type": "minicpmv",
        "auto_map": {"AutoConfig": "configuration_minicpm.MiniCPMVConfig", "AutoModel": "modeling_minicpmv.MiniCPMV",
                     "AutoModelForCausalLM": "modeling_minicpmv.MiniCPMV"},
        "vocab_size": vocab, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 2048,
        "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id, "torch_dtype": "float32",
        "query_num": 4, "patch_size": 14, "batch_vision_input": True, "slice_mode": True,
        "slice_config": {"patch_size": 14, "max_slice_nums": 9, "scale_resolution": 56},
        "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                          "num_attention_heads": 2, "image_size": 56, "patch_size": 14},
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    torch.manual_seed(0)
    cfg = AutoConfig.from_pretrained(str(out), trust_remote_code=True)
    model = AutoModel.from_config(cfg, trust_remote_code=True)
    model.save_pretrained(str(out), safe_serialization=True)
    n = sum(p.numel() for p in model.parameters())
    print(json.dumps({"model": str(out), "parameters": n, "vocab": vocab}))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]).read_text(encoding="utf-8"))
