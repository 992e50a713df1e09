"""What the workflow pages (workflows, runs, tasks) share: durations in words, people's
names for the actors and ids the workflow tables keep, and the workflows to pick from."""

from collections.abc import Callable, Iterable

from api.console.web import Console
from sfa.pagination import MAX_LIMIT, paginate
from sfa.users import repository as user_repository
from sfa.workflows import service as workflow_service

USER_ACTOR = "user:"


def duration(t: Callable[..., str], seconds: float | None) -> str:
    """A length of time in the unit a reader takes in at once (42 s, 7 min, 3.5 h, 2.1 d)."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return t("unit.s", value=f"{seconds:.0f}")
    if seconds < 3600:
        return t("unit.min", value=f"{seconds / 60:.0f}")
    if seconds < 86400:
        return t("unit.h", value=f"{seconds / 3600:.1f}")
    return t("unit.d", value=f"{seconds / 86400:.1f}")


def user_names(console: Console, user_ids: Iterable[int | None]) -> dict[int, str]:
    """{id: "Full Name (username)"} of the users named by a page's rows, in one query."""
    found = user_repository.find_by_ids(console.db, [i for i in user_ids if i is not None])
    return {i: f"{u.full_name} ({u.username})" for i, u in found.items()}


def actor_names(console: Console, actors: Iterable[str | None]) -> dict[str, str]:
    """{"user:3": "Full Name (username)"} for the audit actors a page shows; any other
    actor (an API key, the system) is shown as it is stored."""
    ids = {
        int(a.removeprefix(USER_ACTOR))
        for a in actors
        if a and a.startswith(USER_ACTOR) and a.removeprefix(USER_ACTOR).isdigit()
    }
    return {f"{USER_ACTOR}{i}": name for i, name in user_names(console, ids).items()}


def workflow_options(console: Console) -> list[tuple[int, str]]:
    """Every workflow the caller may read, by key, for a filter's choices."""
    stmt = workflow_service.workflows_query(principal=console.principal, enabled=None, q=None)
    page = paginate(console.db, stmt, limit=MAX_LIMIT, offset=0)
    return [(w.id, f"{w.name} ({w.key})") for w in page.items]
