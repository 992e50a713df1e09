"""The repository stands alone: a plain clone has everything its files refer to.

No tracked file (README, docs, scripts, tests, code, configuration) may name a path
outside the repository, and every relative link of the Markdown files must lead to a
tracked file.
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Built from pieces so that this file does not match itself.
OUTSIDE = ("../" + "shared", "/" + "work/")
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    return [ROOT / name.decode() for name in listed if name and (ROOT / name.decode()).is_file()]


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data:
        return None  # binary
    return data.decode("utf-8", errors="replace")


def test_there_are_tracked_files_to_check():
    names = {p.relative_to(ROOT).as_posix() for p in tracked_files()}
    assert {"README.md", "Makefile", "pyproject.toml", "docs/rules.md"} <= names


def test_no_file_names_a_path_outside_the_repository():
    found = []
    for path in tracked_files():
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            found += [
                f"{path.relative_to(ROOT)}:{number}: {needle}"
                for needle in OUTSIDE
                if needle in line
            ]
    assert not found, "paths outside the repository:\n" + "\n".join(found)


def test_markdown_links_lead_to_tracked_files():
    tracked = set(tracked_files())
    broken = []
    for path in (p for p in tracked if p.suffix == ".md"):
        for target in _LINK.findall(path.read_text(encoding="utf-8")):
            if "://" in target or target.startswith(("#", "mailto:")):
                continue
            resolved = (path.parent / target.split("#", 1)[0]).resolve()
            if resolved not in tracked and not (
                resolved.is_dir() and resolved.is_relative_to(ROOT)
            ):
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, "links to files that are not in the repository:\n" + "\n".join(broken)
