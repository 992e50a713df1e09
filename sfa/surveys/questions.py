"""A survey's questions and the answers to them: shapes and checks, no database.

Kinds: `scale` (an integer from `min` to `max`; the eNPS question is a 0-10 scale with
`enps: true`), `choice` (one of `options`, or several with `multiple: true`) and `text`.
"""

import re

from sfa.errors import InvalidInput

MAX_QUESTIONS = 10
MAX_OPTIONS = 20
MAX_TEXT = 1000
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _check_scale(q: dict, where: str) -> dict:
    low, high = q.get("min", 0 if q.get("enps") else 1), q.get("max", 10 if q.get("enps") else 5)
    if not (isinstance(low, int) and isinstance(high, int)) or not 0 <= low < high <= 100:
        raise InvalidInput(f"{where}: a scale runs between integers 0 <= min < max <= 100")
    if q.get("enps") and (low, high) != (0, 10):
        raise InvalidInput(f"{where}: the eNPS question is a 0-10 scale")
    return {"min": low, "max": high, "enps": bool(q.get("enps"))}


def _check_choice(q: dict, where: str) -> dict:
    options = q.get("options") or []
    if not 2 <= len(options) <= MAX_OPTIONS or len(set(options)) != len(options):
        raise InvalidInput(f"{where}: a choice has 2 to {MAX_OPTIONS} distinct options")
    if any(not isinstance(o, str) or not 0 < len(o) <= 200 for o in options):
        raise InvalidInput(f"{where}: options are texts of 1 to 200 characters")
    return {"options": list(options), "multiple": bool(q.get("multiple"))}


def normalise(questions: list[dict]) -> list[dict]:
    """Checked questions with their keys (q1, q2, … when not given) and defaults."""
    if not 1 <= len(questions) <= MAX_QUESTIONS:
        raise InvalidInput(f"a pulse survey has 1 to {MAX_QUESTIONS} questions")
    result = []
    for index, q in enumerate(questions, start=1):
        where = f"questions[{index - 1}]"
        key = q.get("key") or f"q{index}"
        if not _KEY.match(key):
            raise InvalidInput(f"{where}: key {key!r} must be lower-case letters, digits, _")
        kind = q.get("kind")
        checks = {"scale": _check_scale, "choice": _check_choice, "text": lambda q, w: {}}
        if kind not in checks:
            raise InvalidInput(f"{where}: kind must be scale, choice or text, not {kind!r}")
        text = q.get("text")
        if not isinstance(text, str) or not 0 < len(text) <= 500:
            raise InvalidInput(f"{where}: text (the question) is 1 to 500 characters")
        result.append({"key": key, "kind": kind, "text": text} | checks[kind](q, where))
    keys = [q["key"] for q in result]
    if len(set(keys)) != len(keys):
        raise InvalidInput("question keys must be unique")
    if sum(1 for q in result if q.get("enps")) > 1:
        raise InvalidInput("at most one question is the eNPS question")
    return result


def enps_key(questions: list[dict]) -> str | None:
    return next((q["key"] for q in questions if q.get("enps")), None)


def _check_answer(q: dict, value, where: str):
    if q["kind"] == "scale":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{where}: the answer is a whole number")
        if not q["min"] <= value <= q["max"]:
            raise InvalidInput(f"{where}: the answer is between {q['min']} and {q['max']}")
        return value
    if q["kind"] == "choice":
        chosen = value if isinstance(value, list) else [value]
        if not chosen or (len(chosen) > 1 and not q["multiple"]):
            raise InvalidInput(f"{where}: choose {'one or more' if q['multiple'] else 'one'}")
        if unknown := [c for c in chosen if c not in q["options"]]:
            raise InvalidInput(f"{where}: {unknown!r} not among the options")
        return sorted(set(chosen)) if q["multiple"] else chosen[0]
    if not isinstance(value, str) or len(value) > MAX_TEXT or "\x00" in value:
        raise InvalidInput(f"{where}: a text of at most {MAX_TEXT} characters")
    return value.strip()


def check_answers(questions: list[dict], answers: dict) -> dict:
    """The answers, checked against the questions; unanswered questions are left out."""
    by_key = {q["key"]: q for q in questions}
    if unknown := sorted(set(answers) - set(by_key)):
        raise InvalidInput(f"no question with key(s) {', '.join(unknown)}")
    checked = {
        key: _check_answer(by_key[key], value, f"answers.{key}")
        for key, value in answers.items()
        if value is not None and value != ""
    }
    if not checked:
        raise InvalidInput("answer at least one question")
    return checked
