"""Settings of the benchmark server: the production settings, plus a trivial baseline view.

Only the URLconf differs, so the baseline pays exactly the same middleware as the real views.
"""

from statuspage.settings import *  # noqa: F403

ROOT_URLCONF = "bench._widget_site_urls"
