"""A readable structural diff of two definitions: steps added, removed and changed, and
for a changed step (or the trigger, name, start) each field that differs, by path."""

from typing import Any

_MISSING = object()


def diff(old: dict, new: dict) -> dict:
    old_steps, new_steps = old.get("steps", {}), new.get("steps", {})
    changes: list[dict] = []
    for key in ("name", "description", "trigger", "start"):
        _walk(old.get(key, _MISSING), new.get(key, _MISSING), key, changes)
    added = sorted(set(new_steps) - set(old_steps))
    removed = sorted(set(old_steps) - set(new_steps))
    changed = []
    for step_id in sorted(set(old_steps) & set(new_steps)):
        before = len(changes)
        _walk(old_steps[step_id], new_steps[step_id], f"steps.{step_id}", changes)
        if len(changes) > before:
            changed.append(step_id)
    for step_id in added:
        changes.append(_change(f"steps.{step_id}", _MISSING, new_steps[step_id]))
    for step_id in removed:
        changes.append(_change(f"steps.{step_id}", old_steps[step_id], _MISSING))
    return {
        "steps_added": added,
        "steps_removed": removed,
        "steps_changed": changed,
        "changes": changes,
    }


def _change(path: str, old: Any, new: Any) -> dict:
    kind = "added" if old is _MISSING else "removed" if new is _MISSING else "changed"
    return {
        "path": path,
        "change": kind,
        "from": None if old is _MISSING else old,
        "to": None if new is _MISSING else new,
    }


def _walk(old: Any, new: Any, path: str, changes: list[dict]) -> None:
    if old == new:
        return
    # A step's type change replaces it: its fields are not comparable one by one.
    same_kind = isinstance(old, dict) and isinstance(new, dict)
    if same_kind and old.get("type") == new.get("type"):
        for key in [*old, *(k for k in new if k not in old)]:
            _walk(old.get(key, _MISSING), new.get(key, _MISSING), f"{path}.{key}", changes)
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            _walk(a, b, f"{path}.{index}", changes)
        return
    changes.append(_change(path, old, new))
