"""Settings of the webhook benchmark's server (bench/webhook_throughput.py only): the production
settings, plus the baselines' URLs (_webhook_site_urls.py), served behind Django's default
middleware, not ours, by _webhook_site_wsgi.py."""

from statuspage.settings import *  # noqa: F403

ROOT_URLCONF = "_webhook_site_urls"

# What `django-admin startproject` writes: the baselines' middleware.
DJANGO_DEFAULT_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
