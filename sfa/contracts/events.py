"""The contract events (sfa/events/types.py), written in the transaction of the change.

`contract.created` is emitted for a new contract and for a renewal's successor (which is
a new contract too), keyed by the contract: a retried renewal answers the successor that
exists and emits nothing again.
"""

from sqlalchemy.orm import Session

from sfa.contracts.models import Contract
from sfa.events.service import ACTOR_KINDS, SYSTEM, Actor, emit
from sfa.events.types import CONTRACT_CREATED, ContractCreated


def actor_of(actor: str) -> Actor:
    """The event actor of an audit actor ("user:5"; a workflow run acts as the system)."""
    found = Actor.of(actor)
    return found if found.kind in ACTOR_KINDS else SYSTEM


def created(session: Session, contract: Contract, actor: Actor) -> None:
    emit(
        session,
        CONTRACT_CREATED,
        subject_kind="contract",
        subject_id=contract.id,
        actor=actor,
        event_id=contract.id,
        payload=ContractCreated(
            contract_id=contract.id,
            customer_id=contract.customer_id,
            start_date=contract.start_date,
            end_date=contract.end_date,
            currency=contract.currency,
            value=contract.acv,
        ),
    )
