"""`POST /webhooks/{source}/`: a plain Django view that django-ninja only documents.

A carrier feed sends hundreds of events a second, and django-ninja's dispatch (its parameter
models, its response handling) cost about as much CPU as storing the event. So Django calls this
function directly (orders.api.main mounts it, with the API's error handlers and the sender's
language around it): it reads the query parameter and the signature header itself, and the raw
body, because the signature covers its bytes. django-ninja still puts the operation, its
parameters, body and answers in the OpenAPI document.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.request import RawPostDataException
from ninja import Router

from orders import webhooks
from orders.api.errors import ErrorOut
from orders.webhooks.docs import REQUEST_BODY, WebhookAck

router = Router(tags=["Webhooks"])
SIGNATURE_META = "HTTP_" + webhooks.SIGNATURE_HEADER.upper().replace("-", "_")
ACCOUNT_PARAMETER = {
    "in": "query",
    "name": "account",
    "required": False,
    "description": "Account id or slug; optional with a single account",
    "schema": {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "title": "Account",
        "description": "Account id or slug; optional with a single account",
    },
}


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
    openapi_extra={"requestBody": REQUEST_BODY, "parameters": [ACCOUNT_PARAMETER]},
)
def receive(request: HttpRequest, source: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if source not in webhooks.SOURCES:
        raise webhooks.WebhookError(404, "not_found", f"Unknown webhook source “{source[:50]}”")
    account = request.GET.get("account")
    webhooks.find_account(account)  # a 400 for the account comes before a 413 for the body
    receipt = webhooks.receive(
        account_ref=account,
        source=source,
        body=_body(request),
        signature=request.META.get(SIGNATURE_META, ""),
    )
    if receipt.status == "rejected":
        raise webhooks.WebhookError(409, "invalid_transition", receipt.message or "The event conflicts.")
    return HttpResponse(receipt.ack(), status=receipt.http_status, content_type="application/json")


def _body(request: HttpRequest) -> bytes:
    """The raw body (over DATA_UPLOAD_MAX_MEMORY_SIZE: RequestDataTooBig → 413)."""
    try:
        return request.body
    except RawPostDataException:  # a multipart form, already parsed (and so consumed) as a form
        raise webhooks.WebhookError(
            400, "validation_error", "The event is invalid", field="body",
            reason="Send the event as a JSON body (Content-Type: application/json).",
        ) from None  # fmt: skip
