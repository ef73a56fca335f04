"""AwsAccount: the External ID is ours, unique and immutable; secrets are encrypted and never shown."""

import logging

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from tenants.choices import AuthMode
from tenants.crypto import SecretUnreadable, decrypt_secret
from tenants.models import AwsAccount, generate_external_id
from tests.factories import AwsAccountFactory, CustomerFactory

pytestmark = pytest.mark.django_db

PLAINTEXT_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETVALUE"


def test_external_id_is_generated_server_side_and_unguessable():
    first, second = AwsAccountFactory(), AwsAccountFactory()
    assert first.external_id.startswith("wsc-")
    assert len(first.external_id) >= 40
    assert first.external_id != second.external_id


def test_external_id_uniqueness_is_enforced_by_the_database():
    first = AwsAccountFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        AwsAccountFactory(external_id=first.external_id)


def test_two_fresh_accounts_never_share_an_external_id():
    assert len({generate_external_id() for _ in range(1000)}) == 1000


def test_external_id_cannot_be_changed_through_the_model():
    account = AwsAccountFactory()
    account.external_id = "wsc-chosen-by-the-customer"
    with pytest.raises(ValidationError, match="can never change"):
        account.save()


def test_external_id_cannot_be_changed_even_with_a_raw_update():
    account = AwsAccountFactory()
    original = account.external_id
    with pytest.raises(DatabaseError, match="can never change"), transaction.atomic():
        AwsAccount.objects.filter(pk=account.pk).update(external_id="wsc-forged")
    account.refresh_from_db()
    assert account.external_id == original


def test_other_fields_still_update_normally():
    account = AwsAccountFactory()
    AwsAccount.objects.filter(pk=account.pk).update(name="renamed")
    account.refresh_from_db()
    assert account.name == "renamed"


def test_role_must_live_in_the_customers_account():
    account = AwsAccountFactory.build(
        customer=CustomerFactory(),
        account_id="123456789012",
        role_arn="arn:aws:iam::999999999999:role/PartnerWorkSpacesCore",
    )
    with pytest.raises(ValidationError) as excinfo:
        account.full_clean()
    assert "names another account" in str(excinfo.value)


def test_account_id_must_be_twelve_digits_in_the_database():
    account = AwsAccountFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        AwsAccount.objects.filter(pk=account.pk).update(account_id="12345")


def test_assume_role_without_role_arn_is_saved_awaiting_it_but_never_verified_by_the_database():
    account = AwsAccountFactory(role_arn="")  # the wizard saves it first, for its External ID
    assert account.awaiting_role and account.external_id
    with pytest.raises(IntegrityError), transaction.atomic():
        AwsAccount.objects.filter(pk=account.pk).update(verification_status="VERIFIED")


def test_a_role_arn_once_given_is_never_taken_away():
    account = AwsAccountFactory()
    account.role_arn = ""
    with pytest.raises(ValidationError) as refused:
        account.full_clean()
    assert refused.value.message_dict["role_arn"] == [
        "A connection's role ARN can be replaced but not removed."
    ]


def test_secret_is_stored_encrypted_and_decrypts_back():
    account = AwsAccountFactory.build(
        customer=CustomerFactory(),
        auth_mode=AuthMode.ACCESS_KEYS,
        access_key_id="AKIAABCDEFGHIJKLMNOP",
        role_arn="",
    )
    account.set_secret_access_key(PLAINTEXT_SECRET)
    account.save()
    stored = AwsAccount.objects.values_list("secret_access_key_ciphertext", flat=True).get(pk=account.pk)
    assert PLAINTEXT_SECRET not in stored
    assert decrypt_secret(stored) == PLAINTEXT_SECRET
    assert AwsAccount.objects.get(pk=account.pk).get_secret_access_key() == PLAINTEXT_SECRET


def test_a_secret_from_another_key_is_reported_not_returned(settings):
    account = AwsAccountFactory.build(customer=CustomerFactory())
    account.set_secret_access_key(PLAINTEXT_SECRET)
    settings.FIELD_ENCRYPTION_KEYS = ["b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMDA="]
    with pytest.raises(SecretUnreadable):
        account.get_secret_access_key()


def test_saving_an_account_with_a_secret_logs_no_secret(caplog):
    connection.force_debug_cursor = True  # log every SQL statement, as DEBUG would
    try:
        with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="django.db.backends"):
            account = AwsAccountFactory.build(
                customer=CustomerFactory(),
                auth_mode=AuthMode.ACCESS_KEYS,
                access_key_id="AKIAABCDEFGHIJKLMNOP",
                role_arn="",
            )
            account.set_secret_access_key(PLAINTEXT_SECRET)
            account.save()
            logging.getLogger("tests").info("saved %r", account)
            AwsAccount.objects.get(pk=account.pk).get_secret_access_key()
    finally:
        connection.force_debug_cursor = False
    assert any("tenants_awsaccount" in record.getMessage() for record in caplog.records)
    assert PLAINTEXT_SECRET not in caplog.text
