"""Test settings: production settings with a test secret and no HTTPS redirect.

The database comes from DATABASE_URL as in production, so the same suite runs on SQLite and on
PostgreSQL.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-with-enough-entropy-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from statuspage.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
MEDIA_ROOT = BASE_DIR / ".test-media"  # noqa: F405
# Serve static files from the finders, as in development; nothing is collected for tests.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
# Tests assert that changes show on the very next request.
CACHE_RECHECK_SECONDS = 0
# Send "email me my links" in the request, so tests can read mail.outbox at once.
EMAIL_LINKS_IN_BACKGROUND = False
# Status emails go out right after the transaction that wrote them.
NOTIFICATION_COALESCE_SECONDS = 0
