"""python make_tinyllava_tiny.py OUT CORPUS.txt   (run with .venv-tinyllava/bin/python)

Builds a tiny random TinyLLaVA (about 0.2 M parameters) with TinyLLaVA_Factory's own classes and saves it the
way a trained factory model is published, so upstream custom_finetune.py can fine-tune it:
  OUT/tiny-phi/      the LLM side: a PhiConfig (2 layers, hidden 64) and Phi-2's tokenizer class (CodeGen's
                     byte-level BPE, slow: the recipe passes --tokenizer_use_fast False), its vocabulary
                     learned from CORPUS (the frames' subtitles and the prompt)
  OUT/tiny-siglip/   the vision side: a SiglipVisionConfig (2 layers, 64x64 images, 16 px patches) and
                     its SiglipImageProcessor
  OUT/model/         TinyLlavaConfig(llm -> tiny-phi, vision -> tiny-siglip, connector mlp2x_gelu) and
                     TinyLlavaForConditionalGeneration.save_pretrained + the tokenizer, plus the two
                     remote-code entry files from tinyllava_remote/ (config.json's auto_map names them)
The factory picks its LLM and vision classes by name ("phi", "siglip" in the folder paths).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(out: Path, corpus: str) -> None:
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import CodeGenTokenizer, PhiConfig, SiglipImageProcessor, SiglipVisionConfig

    from tinyllava.model import TinyLlavaConfig, TinyLlavaForConditionalGeneration

    torch.manual_seed(0)
    llm_dir, vision_dir, model_dir = out / "tiny-phi", out / "tiny-siglip", out / "model"
    for d in (llm_dir, vision_dir, model_dir):
        d.mkdir(parents=True, exist_ok=True)

    # Phi-2 ships CodeGen's byte-level BPE; a small one learned from the corpus keeps sequences short.
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([corpus, "USER: ASSISTANT: <image>\n"], vocab_size=800, min_frequency=1,
                            special_tokens=["<|endoftext|>"], show_progress=False)
    bpe.save_model(str(llm_dir))
    tok = CodeGenTokenizer(str(llm_dir / "vocab.json"), str(llm_dir / "merges.txt"), unk_token="<|endoftext|>",
                           bos_token="<|endoftext|>", eos_token="<|endoftext|>", model_max_length=3072)
    tok.save_pretrained(str(llm_dir))
    eos = tok.convert_tokens_to_ids("<|endoftext|>")
    PhiConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              max_position_embeddings=3072, bos_token_id=eos, eos_token_id=eos).save_pretrained(str(llm_dir))

    SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                       image_size=64, patch_size=16).save_pretrained(str(vision_dir))
    SiglipImageProcessor(size={"height": 64, "width": 64}).save_pretrained(str(vision_dir))

    cfg = TinyLlavaConfig(llm_model_name_or_path=str(llm_dir), vision_model_name_or_path=str(vision_dir),
                          connector_type="mlp2x_gelu", tokenizer_model_max_length=3072,
                          tokenizer_padding_side="right", tokenizer_use_fast=False, vision_feature_layer=-2,
                          vision_feature_select_strategy="patch", image_aspect_ratio="square")
    model = TinyLlavaForConditionalGeneration(cfg)
    model.config.pad_token = model.tokenizer.pad_token
    model.config.pad_token_id = model.tokenizer.pad_token_id
    model.save_pretrained(str(model_dir))
    model.tokenizer.save_pretrained(str(model_dir))
    for f in (HERE / "tinyllava_remote").glob("*.py"):
        shutil.copy2(f, model_dir / f.name)
    conf = json.loads((model_dir / "config.json").read_text())
    conf["auto_map"] = {"AutoConfig": "configuration_tinyllava_factory.TinyLlavaConfig",
                        "AutoModelForCausalLM": "modeling_tinyllava_factory.TinyLlavaForConditionalGeneration"}
    (model_dir / "config.json").write_text(json.dumps(conf, indent=2))
    n = sum(p.numel() for p in model.parameters())
    print(json.dumps({"model": str(model_dir), "parameters": n, "vocab": len(tok)}))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]).read_text(encoding="utf-8"))
