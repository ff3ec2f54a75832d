"""An order's timeline (its shipments, their checkpoints and estimate changes, the line items),
loaded for display once access is granted: four small queries by the order's id, each compiled
once per process (orders.compiled_queries) instead of `prefetch_related`'s compiling and
filtering on every page. The rows are attached as `prefetch_related` attaches them, so
`order.trackings.all()`, `tracking.checkpoints.all()`, … read them without a query, and each
row's relation back to its parent is set.
"""

from __future__ import annotations

from django.db.models import Model

from orders.compiled_queries import CompiledQuery
from orders.models import Checkpoint, EstimateChange, LineItem, Order, Tracking

# The same querysets `prefetch_related` would run (the models' default ordering included).
TRACKINGS = CompiledQuery(Tracking, lambda order_id: Tracking.objects.filter(order_id=order_id), [0])
# Without when each checkpoint was received (nothing shown reads it; an aware timestamp is the
# costliest column to load): like any deferred field, it is read from the database if asked for.
CHECKPOINTS = CompiledQuery(
    Checkpoint,
    lambda order_id: Checkpoint.objects.filter(tracking__order_id=order_id).defer("created_at"),
    [0],
)
ESTIMATE_CHANGES = CompiledQuery(
    EstimateChange, lambda order_id: EstimateChange.objects.filter(tracking__order_id=order_id), [0]
)
ITEMS = CompiledQuery(LineItem, lambda order_id: LineItem.objects.filter(order_id=order_id), [0])


def load(order: Order, *, items: bool = True) -> None:
    """Attach the order's shipments with their checkpoints and estimate changes, and (`items`) its
    line items, as `prefetch_related` would."""
    trackings = TRACKINGS(order.pk)
    checkpoints = _by_tracking(CHECKPOINTS(order.pk))
    changes = _by_tracking(ESTIMATE_CHANGES(order.pk))
    for tracking in trackings:
        tracking.order = order
        _attach(tracking, "checkpoints", checkpoints.get(tracking.pk, []), parent="tracking")
        _attach(tracking, "estimate_changes", changes.get(tracking.pk, []), parent="tracking")
    _attach(order, "trackings", trackings)
    if items:
        _attach(order, "items", ITEMS(order.pk), parent="order")


def _by_tracking(rows: list) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row.tracking_id, []).append(row)
    return grouped


def _attach(instance: Model, name: str, rows: list, *, parent: str = "") -> None:
    """What `prefetch_related(name)` leaves on `instance`: the related manager's queryset, already
    evaluated to `rows`; each row's own link to `instance` set too."""
    if parent:  # as `setattr(row, parent, instance)` leaves it, without its checks per row
        field = type(rows[0])._meta.get_field(parent) if rows else None
        for row in rows:
            field.set_cached_value(row, instance)
    _cached(instance).pop(name, None)
    queryset = getattr(instance, name).get_queryset()  # unevaluated: filtered to `instance`
    queryset._result_cache = rows
    queryset._prefetch_done = True
    _cached(instance)[name] = queryset


def _cached(instance: Model) -> dict:
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    return instance._prefetched_objects_cache
