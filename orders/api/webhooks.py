"""`POST /webhooks/{source}/`: the body is read raw, because the signature covers its bytes."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from ninja import Field, Query, Router, Schema

from orders import webhooks
from orders.api.errors import ErrorOut
from orders.webhooks.docs import REQUEST_BODY, WebhookAck

router = Router(tags=["Webhooks"])


class WebhookParams(Schema):
    account: str | None = Field(None, description="Account id or slug; optional with a single account")


@router.post(
    "/webhooks/{source}/",
    url_name="webhook",
    operation_id="receive_webhook",
    summary="Receive an event (nimbus, vendor or tracking)",
    description=(
        "Sign the raw body: `Statuspage-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "
        '"<t>.<body>" with the account\'s webhook secret>`; at most WEBHOOK_TOLERANCE_SECONDS (default '
        "300) off. WEBHOOK_APPLY=sync answers 200 (applied, stale or duplicate), 202 (parked until "
        "its order arrives) or 409 (rejected); async answers 202 (accepted: stored, applied within "
        "moments; the outcome shows in the admin) or 200 (duplicate)."
    ),
    response={
        200: WebhookAck,
        202: WebhookAck,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
    },
    openapi_extra={"requestBody": REQUEST_BODY},
    exclude_none=True,
)
def receive(request: HttpRequest, source: str, params: Query[WebhookParams]):
    if source not in webhooks.SOURCES:
        raise webhooks.WebhookError(404, "not_found", f"Unknown webhook source “{source[:50]}”")
    webhooks.find_account(params.account)  # a 400 for the account comes before a 413 for the body
    receipt = webhooks.receive(
        account_ref=params.account,
        source=source,
        body=request.body,  # over DATA_UPLOAD_MAX_MEMORY_SIZE: RequestDataTooBig → 413
        signature=request.headers.get(webhooks.SIGNATURE_HEADER, ""),
    )
    if receipt.status == "rejected":
        raise webhooks.WebhookError(409, "invalid_transition", receipt.message or "The event conflicts.")
    ack = {"status": receipt.status, "eventId": receipt.event.event_id, "outcome": receipt.event.outcome}
    if receipt.message:
        ack["message"] = receipt.message
    # Built here to the WebhookAck schema, so django-ninja need not validate it again (a feed sends
    # hundreds a second; the OpenAPI test checks the answers against the schema).
    return JsonResponse(ack, status=receipt.http_status)
