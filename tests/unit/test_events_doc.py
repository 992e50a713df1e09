"""docs/events.md's catalogue table lists exactly the event types sfa/events/types.py
registers (a type added without its row, or a row left for a removed type, fails)."""

import re

from paths import ROOT
from sfa.events import service


def test_the_catalogue_table_lists_every_event_type():
    text = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    catalogue = text.split("## The catalogue", 1)[1].split("\n## ", 1)[0]
    rows = {m[1]: m[2] for m in re.finditer(r"^\| `([a-z_.]+)` \| ([a-z_]+) \|", catalogue, re.M)}
    types = {t.name: t.subject_kind for t in service.event_types()}
    assert rows == types
