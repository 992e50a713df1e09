"""Where tests find shared data: `../shared` beside the repository (as in CI), or
SFA_SHARED_DIR."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("SFA_SHARED_DIR", ROOT.parent / "shared")) / "data"
