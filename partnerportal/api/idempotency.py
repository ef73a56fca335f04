"""`Idempotency-Key` on POST: the same key and body within 24 hours get the first answer, and nothing is
made twice; the same key with another body or path is a 422.

The first request inserts the key's row and runs in the same transaction; a concurrent request with the
same key blocks on that uncommitted row (the unique constraint), then finds it and replays the answer.
Server errors are not kept: the transaction rolls back and the key may be tried again.
"""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from partnerportal.api.authentication import TokenUser
from partnerportal.api.models import IdempotentRequest
from partnerportal.api.problems import PROBLEM_CONTENT_TYPE, IdempotencyKeyReused

HEADER = "Idempotency-Key"
KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def _owner(request) -> dict:
    user = request.user
    return {"token": user.token} if isinstance(user, TokenUser) else {"user": user}


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    text = f"{request.method} {request.get_full_path()} {body}"
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(record: IdempotentRequest) -> Response:
    content_type = PROBLEM_CONTENT_TYPE if (record.status_code or 0) >= 400 else None
    response = Response(record.response_body, status=record.status_code, content_type=content_type)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(view, handler):
    """Wrap a view's POST handler with the Idempotency-Key rule (no header: the handler as it is)."""

    def run(request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise ValidationError({HEADER: [f"1 to {MAX_KEY_LENGTH} printable characters."]})
        owner = _owner(request)
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            # This client's expired keys go (this one included), so the table holds about a day of keys.
            IdempotentRequest.objects.filter(**owner, created_at__lt=timezone.now() - KEY_LIFETIME).delete()
            try:
                with transaction.atomic():
                    record = IdempotentRequest.objects.create(**owner, key=key, fingerprint=fingerprint)
            except IntegrityError:
                first = IdempotentRequest.objects.get(**owner, key=key)
                if first.fingerprint != fingerprint:
                    raise IdempotencyKeyReused() from None
                if first.status_code is None:  # cannot happen once committed; kept for safety
                    return Response(status=status.HTTP_409_CONFLICT)
                return _replay(first)
            try:
                response = handler(request, *args, **kwargs)
            except Exception as exc:  # a client error becomes the recorded answer; a 500 rolls back
                response = view.handle_exception(exc)
            if response.status_code >= 500:
                transaction.set_rollback(True)
                return response
            record.status_code, record.response_body = response.status_code, response.data
            record.save(update_fields=["status_code", "response_body"])
            return response

    return run
