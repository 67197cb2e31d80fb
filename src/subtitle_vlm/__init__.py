"""subtitle-vlm: teach vision-language models to read burned-in Chinese subtitles."""

__version__ = "0.1.0"

# The one label value the loss ignores (prompt, image and padding tokens).
IGNORE_INDEX = -100
