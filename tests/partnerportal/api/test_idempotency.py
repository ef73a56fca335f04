"""Idempotency-Key: the first answer is replayed, nothing is made twice, another body with the key is a 422."""

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from orchestration.choices import JobKind
from orchestration.models import Job
from partnerportal.api.models import IdempotentRequest

START = {"action": "start"}


def start_jobs():
    return Job.objects.filter(kind=JobKind.DESKTOP_START)


@pytest.mark.django_db
def test_the_same_key_and_body_get_the_first_answer_and_make_one_job(acme):
    client, url = acme.clients["operate"], f"/api/v1/desktops/{acme.desktops[1].pk}/actions"
    before = start_jobs().count()
    first = client.post(url, START, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(url, START, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert start_jobs().count() == before + 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422(acme):
    client, url = acme.clients["operate"], f"/api/v1/desktops/{acme.desktops[1].pk}/actions"
    client.post(url, START, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = client.post(url, {"action": "reboot"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 422
    assert other.json()["type"] == "urn:wsc:problem:idempotency-key-reused"


@pytest.mark.django_db
def test_a_refusal_is_replayed_too_and_keys_are_per_token(acme):
    url = f"/api/v1/desktops/{acme.desktops[1].pk}/actions"
    stop = {"action": "stop"}  # the desktop is STOPPED already: refused
    first = acme.clients["operate"].post(url, stop, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    again = acme.clients["operate"].post(url, stop, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert first.status_code == again.status_code == 400 and again.json() == first.json()
    assert again["Content-Type"] == "application/problem+json"
    # Another token's key of the same name is its own.
    other = acme.clients["admin"].post(url, START, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert other.status_code == 202


@pytest.mark.django_db
def test_a_key_older_than_24_hours_is_forgotten(acme):
    client, url = acme.clients["operate"], f"/api/v1/desktops/{acme.desktops[1].pk}/actions"
    client.post(url, START, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    client.post(url, START, format="json", HTTP_IDEMPOTENCY_KEY="k-old")
    IdempotentRequest.objects.update(created_at=timezone.now() - timedelta(hours=25))
    before = start_jobs().count()
    later = client.post(url, START, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert later.status_code == 202 and "Idempotent-Replayed" not in later
    assert start_jobs().count() == before + 1
    # The token's other expired keys went too: only the new answer is kept.
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["k-4"]


@pytest.mark.django_db
def test_an_unusable_key_is_a_400(acme):
    url = f"/api/v1/desktops/{acme.desktops[1].pk}/actions"
    response = acme.clients["operate"].post(url, START, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["errors"]


@pytest.mark.django_db(transaction=True)
def test_20_parallel_posts_with_one_key_make_one_job(live_server, acme):
    """Twenty threads, each its own connection to the live server and so its own database session."""
    url = f"{live_server.url}/api/v1/desktops/{acme.desktops[1].pk}/actions"
    body = json.dumps(START).encode()
    headers = {
        "Authorization": f"Bearer {acme.tokens['operate']}",
        "Content-Type": "application/json",
        "Idempotency-Key": "parallel-1",
    }
    before = start_jobs().count()
    barrier = threading.Barrier(20)
    answers: list[tuple[int, dict]] = []

    def post():
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                answers.append((response.status, json.loads(response.read())))
        except urllib.error.HTTPError as error:
            answers.append((error.code, json.loads(error.read() or b"{}")))

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 20
    assert {status for status, _ in answers} == {202}, answers
    assert len({body["id"] for _, body in answers}) == 1
    assert start_jobs().count() == before + 1
    assert IdempotentRequest.objects.count() == 1
