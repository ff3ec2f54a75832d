"""Serve the sandbox carriers on a free localhost port until stdin closes; prints the base URL."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
django.setup()

from orders.carriers.sandbox import SandboxCarrierServer, serve  # noqa: E402

_httpd, url = serve(SandboxCarrierServer())
print(url, flush=True)
sys.stdin.read()
