"""Dataset stage: samples from a frame set or the original TSV, deterministic splits, and the files each
trainer reads (MiniCPM-V, TinyLLaVA, ms-swift/LLaMA-Factory messages, imagefolder, gold CSV), with a checker.
"""

from subtitle_vlm.data.prompts import DEFAULT_PROMPT

__all__ = ["DEFAULT_PROMPT"]
