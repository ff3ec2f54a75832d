"""gunicorn's settings: `gunicorn -c gunicorn.conf.py statuspage.wsgi`.

Every value comes from the environment, like the app's own settings (README, "Configuration").

- Forwarding headers (`X-Forwarded-Proto`, `X-Forwarded-For`, …) are trusted only when the
  deployment says there are proxies in front (`TRUSTED_PROXY_COUNT` > 0), and then only from
  `FORWARDED_ALLOW_IPS` (default: any address, for a proxy that is the only way in). With no
  proxies, nobody's forwarding headers count, not even localhost's (gunicorn's own default).
- The access log masks second factors (orders.privacy.logs.GunicornLogger).
"""

import os

_PROXIES = int(os.environ.get("TRUSTED_PROXY_COUNT", "0") or 0)

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
forwarded_allow_ips = (os.environ.get("FORWARDED_ALLOW_IPS") or "*") if _PROXIES > 0 else ""
logger_class = "orders.privacy.logs.GunicornLogger"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
