"""Text: sentence sources, OpenCC conversion, wrapping, and the normalisation profiles scoring uses."""

from subtitle_vlm.text.normalize import PROFILES, normalize
from subtitle_vlm.text.sources import BUILTIN_CORPUS, load_sentences, prepare_sentences

__all__ = ["PROFILES", "normalize", "BUILTIN_CORPUS", "load_sentences", "prepare_sentences"]
