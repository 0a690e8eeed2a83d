"""The page benchmark's server: the app's own settings, with the benchmark URLconf (the app's routes plus
a plain page). Only gunicorn started by tests/load/benchmark_pages.py loads this module."""

from governance.settings import *  # noqa: F403

ROOT_URLCONF = "governance.benchmark_urls"
