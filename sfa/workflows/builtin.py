"""The built-in workflows (sfa/workflows/defaults/*.json) installed into a company's
database: each file becomes the workflow keyed by its name ("discount_approval.json" →
"discount-approval"), published as version 1 by "system".

Installed by `sfa.migrate.upgrade` to head, so every migrated database — a new company,
the demo, the test suite — has them. A workflow whose key exists is left alone: a company
that edited, re-published or disabled a built-in keeps its own. A new built-in shipped
with a release appears at the next migrate.
"""

from sqlalchemy.orm import Session

from sfa.workflows import repository, runtime_defaults, versions
from sfa.workflows.models import Workflow

ACTOR = "system"


def builtin_keys() -> list[str]:
    """The keys of the built-in workflows, in file-name order."""
    return [
        path.stem.replace("_", "-") for path in sorted(runtime_defaults.DEFAULTS.glob("*.json"))
    ]


def install(session: Session) -> list[str]:
    """Creates and publishes every built-in whose key is missing; returns their keys."""
    made = []
    for key in builtin_keys():
        if repository.by_key(session, key) is not None:
            continue
        definition = runtime_defaults.definition(key.replace("-", "_"))
        workflow = Workflow(key=key, name=definition["name"], enabled=True, created_by=ACTOR)
        session.add(workflow)
        session.flush()
        draft = versions.save_draft(session, workflow=workflow, definition=definition, actor=ACTOR)
        # The files are checked by tests/unit (every default passes validation); a
        # migration must not need the users or settings a full check would read.
        versions.publish(
            session, workflow=workflow, number=draft.number, actor=ACTOR, check=lambda raw: None
        )
        made.append(key)
    return made
