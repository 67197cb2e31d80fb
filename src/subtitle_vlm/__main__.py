"""python -m subtitle_vlm --help"""

from subtitle_vlm.cli import main

raise SystemExit(main())
