"""Settings and URLs for the API benchmarks only: the production site plus a trivial JSON view
as the same-run baseline. Never imported by the app; gunicorn loads it with
DJANGO_SETTINGS_MODULE=_api_site from bench/ (see api_throughput.py)."""

from statuspage.settings import *  # noqa: F403

ROOT_URLCONF = "_api_site_urls"
