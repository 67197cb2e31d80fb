"""python -m subtitle_vlm --help"""

import os
import sys

# `python -m` (and torchrun -m) put the working directory first on sys.path. From the repository root our
# datasets/ folder would then shadow the Hugging Face `datasets` package wherever that is not installed, and
# transformers fails on `datasets.Dataset`. This package is already imported, so the entry is not needed.
if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.getcwd():
    del sys.path[0]

from subtitle_vlm.cli import main  # noqa: E402

raise SystemExit(main())
