"""A Celery worker started by the test suite: same settings as the tests, pointed at the test database."""
import os

from .test import *  # noqa: F401,F403
from .test import DATABASES

CELERY_TASK_ALWAYS_EAGER = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    pass  # an in-memory test database cannot be shared; the healthcheck only needs a connection
else:
    DATABASES["default"]["NAME"] = os.environ["TEST_DATABASE_NAME"]

# A task of a killed worker comes back after 5 s, checked every second (kombu's defaults: an hour, scanned every
# ~100 s), so the kill-and-restart tests finish in seconds. Test tasks take about a second.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 5, "unacked_restore_interval": 1,
                                   "unacked_restore_throttle": 1}
