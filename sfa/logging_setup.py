import logging

from sfa.config import get_settings


def configure_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # Alembic announces every plugin it loads at INFO; that is noise on each `sfa migrate`.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
