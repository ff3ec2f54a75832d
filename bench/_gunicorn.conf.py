"""gunicorn's settings for the throughput benchmarks: production's (gunicorn.conf.py) without the
access log, which would cost the baseline and the site alike and so flatter every ratio (and
print a line per request)."""

import runpy
from pathlib import Path

_production = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
globals().update({name: value for name, value in _production.items() if not name.startswith("_")})
accesslog = None
