"""`sfa scheduler` with every job's period shortened to a few seconds, for the
multi-process test: the real jobs, runner (advisory lock + period claim) and APScheduler
set-up, so that a test can watch several periods pass.

    python tests/integration/scale/fast_scheduler.py SECONDS
"""

import logging
import signal
import sys

from apscheduler.schedulers.blocking import BlockingScheduler

from api.scheduler import Schedules, company_jobs
from sfa.jobs import Job


def fast_jobs(seconds: int) -> list[Job]:
    return [
        Job(job.name, job.func, {"trigger": "interval", "seconds": seconds})
        for job in company_jobs()
    ]


def main() -> None:
    seconds = int(sys.argv[1])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    scheduler = BlockingScheduler(timezone="UTC")
    Schedules(scheduler, jobs=lambda: fast_jobs(seconds), follow_seconds=3600).start()
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    scheduler.start()


if __name__ == "__main__":
    main()
