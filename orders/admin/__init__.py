"""Staff back office: look orders up, read their shipments' timelines, correct what the lifecycle allows.

Every state change made here goes through `orders.lifecycle`, the same services the API, webhooks and
commands use, so the admin cannot put an order into a state that no other way in could reach.
The changelist runs a constant number of queries (account joined, trackings prefetched), which
`tests/test_admin.py` pins down.
"""

from django.contrib import admin

from orders.admin import accounts, login, notifications, orders, records, trackings  # noqa: F401  (registers the admins)

login.install(admin.site)
