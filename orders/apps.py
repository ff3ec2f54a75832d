from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save, pre_delete
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Deletions, cascades included, must retire what the cache remembers about the rows.
        from orders import apikeys
        from orders.cache import versions as state_cache
        from orders.models import Account, ApiKey, Order, StateMessage
        from orders.privacy import erasure

        post_delete.connect(lambda instance, **kw: state_cache.forget(instance.pk), sender=Order, weak=False)
        # What other places hold about a deleted order (webhook payloads, the response remembered
        # for its Idempotency-Key, …) goes with it.
        pre_delete.connect(lambda instance, **kw: erasure.order_deleted(instance), sender=Order, weak=False)
        post_delete.connect(lambda instance, **kw: apikeys.forget(instance), sender=ApiKey, weak=False)
        # Pages show their shop's brand and problem texts: a change retires what was built from them.
        for model in (Account, StateMessage):
            for signal in (post_save, post_delete):
                signal.connect(lambda **kw: state_cache.accounts_changed(), sender=model, weak=False)

        from orders import orders_service, webhooks
        from orders.notifications import privacy  # noqa: F401  (registers the notification logs)

        orders_service.ref_added.connect(
            lambda account, ref, **kw: webhooks.replay_parked(account=account, ref=ref), weak=False
        )
