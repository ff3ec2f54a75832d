"""The PNG status widget for emails: ``render`` draws it (Pillow, no Django), ``state`` decides what
it says about an order, ``cache`` serves it with ETags from the answer cache, ``embed`` builds the
admin's ``<a><img></a>`` snippet."""
