"""Where tests find their data files: `tests/data/` (each folder says where its data
comes from and under which licence)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"
