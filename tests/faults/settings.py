"""Settings for the app under test in tests/faults/: production settings from the environment
(PostgreSQL and Redis of the suite's own), plain HTTP, static files from the finders."""

import os

os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")

from statuspage.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
