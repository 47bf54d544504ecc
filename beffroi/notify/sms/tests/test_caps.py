"""The caps of the day, where every SMS passes (sms_enqueue): unverified
numbers, numbers, accounts, organisations' budgets and the platform's."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from beffroi.core.models import Membership, Organisation
from beffroi.notify.sms.caps import SmsRefused, number_digest
from beffroi.notify.sms.housekeeping import sms_housekeeping
from beffroi.notify.sms.models import SmsDailyCount, SmsMessage
from beffroi.notify.sms.services import sms_enqueue
from beffroi.notify.sms.tasks import send_budget_alert
from conftest import make_staff

pytestmark = pytest.mark.django_db

TEXT = "Rappel : vous avez un rendez-vous le 12/03 à 14h30. Détails dans votre coffre-fort."
VICTIM = "06 99 88 77 66"


@pytest.fixture(autouse=True)
def caps(settings):
    settings.SMS_DAILY_MAX_PER_NUMBER = 4
    settings.SMS_DAILY_MAX_VERIFY_PER_NUMBER = 2
    settings.SMS_DAILY_MAX_PER_ACCOUNT = 3
    settings.SMS_DAILY_BUDGET_PER_ORGANISATION = 5
    settings.SMS_DAILY_BUDGET_PLATFORM = 6
    return settings


def _number(i: int) -> str:
    return f"07{i:08d}"


def _send(to=VICTIM, *, purpose="reminder", verified=True, account="", organisation=None, tag=None):
    return sms_enqueue(to=to, text=TEXT, purpose=purpose, verified=verified, account=account,
                       organisation=organisation, tag=tag)


def _refusal(**kwargs) -> str:
    with pytest.raises(SmsRefused) as refused:
        _send(**kwargs)
    return refused.value.code


def test_an_unverified_number_receives_nothing_but_its_verification_code():
    for purpose in ("reminder", "code", "notice"):
        assert _refusal(purpose=purpose, verified=False) == "unverified"
    assert not SmsMessage.objects.exists()
    assert _send(purpose="verify", verified=False).purpose == "verify"


def test_a_number_gets_at_most_its_caps_whatever_the_accounts_that_ask():
    # Ten safes ask for a verification code to the same number: two go.
    sent = refused = 0
    for i in range(10):
        try:
            _send(purpose="verify", verified=False, account=f"safe:{i}")
            sent += 1
        except SmsRefused as exc:
            assert exc.code == "verify"
            refused += 1
    assert (sent, refused) == (2, 8)
    # Everything to that number: four a day in all.
    _send(account="safe:1")
    _send(account="safe:2")
    assert _refusal(account="safe:3") == "number"
    assert SmsMessage.objects.filter(to="+33699887766").count() == 4
    # The counters know the number only by its keyed hash.
    keys = "".join(SmsDailyCount.objects.values_list("key", flat=True))
    assert "699887766" not in keys and number_digest("+33699887766") in keys


def test_an_account_gets_at_most_its_cap():
    for i in range(3):
        _send(to=_number(i), account="safe:7")
    assert _refusal(to=_number(9), account="safe:7") == "account"
    assert _send(to=_number(9), account="safe:8")


def test_an_organisations_budget_refuses_and_tells_its_administrators_once_a_day(commune):
    ccas = Organisation.objects.create(kind=Organisation.Kind.CCAS, name="CCAS de Haisnes", slug="ccas", parent=commune)
    admin = make_staff(ccas, Membership.Role.ADMINISTRATOR, email="directrice@ccas.example.org")
    make_staff(ccas, Membership.Role.SOCIAL_WORKER, email="social@ccas.example.org")
    for i in range(5):
        _send(to=_number(i), organisation=ccas)
    for i in range(5, 9):
        assert _refusal(to=_number(i), organisation=ccas) == "budget"
    assert SmsMessage.objects.filter(organisation=ccas).count() == 5
    assert SmsDailyCount.objects.get(key=f"organisation:{ccas.pk}").refused == 4
    # One e-mail queued for the day, however many refusals; to the administrators only.
    [job] = DBTaskResult.objects.filter(task_path=send_budget_alert.module_path)
    assert send_budget_alert.func(*job.args_kwargs["args"]) == 1
    [message] = mail.outbox
    assert message.to == [admin.email] and message.subject == "SMS : budget du jour atteint (CCAS de Haisnes)"
    assert "5 SMS par jour de CCAS de Haisnes" in message.body and "refusés jusqu’à demain" in message.body
    # Other organisations and the platform are not affected.
    assert _send(to=_number(20))
    # The next day, the budget is whole again (and its e-mail may go again).
    SmsDailyCount.objects.update(day=timezone.localdate() - timedelta(days=1))
    assert _send(to=_number(21), organisation=ccas)


def test_the_platforms_budget_tells_the_operators(settings):
    settings.ADMINS = [("Exploitation", "exploitation@example.org")]
    for i in range(6):
        _send(to=_number(i))
    assert _refusal(to=_number(7)) == "budget"
    [job] = DBTaskResult.objects.filter(task_path=send_budget_alert.module_path)
    send_budget_alert.func(*job.args_kwargs["args"])
    assert mail.outbox[0].to == ["exploitation@example.org"] and "de la plateforme" in mail.outbox[0].body


def test_a_refusal_leaves_the_callers_transaction_usable(commune):
    with transaction.atomic():
        Organisation.objects.create(kind=Organisation.Kind.ASSOCIATION, name="Secours", slug="secours")
        assert _refusal(verified=False) == "unverified"
        for _ in range(4):
            _send()
        assert _refusal() == "number"
        assert Organisation.objects.filter(slug="secours").exists()
    assert SmsMessage.objects.count() == 4
    # The refused message took back the caps it had taken before the spent one.
    assert SmsDailyCount.objects.get(key="platform").count == 4


def test_queuing_the_same_tag_again_counts_once():
    for _ in range(6):
        _send(tag="r42")
    assert SmsMessage.objects.count() == 1
    assert SmsDailyCount.objects.get(key=f"number:{number_digest('+33699887766')}").count == 1


def test_counters_older_than_yesterday_are_forgotten():
    _send()
    SmsDailyCount.objects.update(day=timezone.localdate() - timedelta(days=2))
    _send(to=_number(1))
    assert sms_housekeeping()["counters"] == 2  # the platform's and the number's of two days ago
    assert SmsDailyCount.objects.filter(day=timezone.localdate()).count() == 2


def test_an_organisation_without_administrator_has_its_communes_told(commune):
    ccas = Organisation.objects.create(kind=Organisation.Kind.CCAS, name="CCAS de Haisnes", slug="ccas", parent=commune)
    make_staff(ccas, Membership.Role.SOCIAL_WORKER, email="social@ccas.example.org")
    mayor_office = make_staff(commune, Membership.Role.ADMINISTRATOR, email="dgs@haisnes.example.org")
    for i in range(6):
        try:
            _send(to=_number(i), organisation=ccas)
        except SmsRefused:
            pass
    [job] = DBTaskResult.objects.filter(task_path=send_budget_alert.module_path)
    send_budget_alert.func(*job.args_kwargs["args"])
    assert [message.to for message in mail.outbox] == [[mayor_office.email]]


@pytest.mark.django_db(transaction=True)
def test_senders_at_once_cannot_both_take_the_last_one():
    """Eight workers send to one number at the same moment: exactly its cap goes."""
    import threading

    from django.db import connection

    _send(account="safe:first")  # the counters exist: the senders race on updating them
    start = threading.Barrier(8)
    outcomes = []

    def sender(i):
        try:
            start.wait()
            with transaction.atomic():
                _send(account=f"safe:{i}")
            outcomes.append("sent")
        except SmsRefused as refused:
            outcomes.append(refused.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["number"] * 5 + ["sent"] * 3
    assert SmsMessage.objects.count() == 4
    # Every counter is exact: none lost an increment to another sender, none kept a refused one.
    assert SmsDailyCount.objects.get(key=f"number:{number_digest('+33699887766')}").count == 4
    assert SmsDailyCount.objects.get(key="platform").count == 4


def test_every_sender_takes_the_caps_in_one_order_and_a_batch_holds_its_rows_first(commune, other_commune):
    """A batch of reminders takes many messages' caps in one transaction: it locks all their rows
    first, in the one order (by key) that a single sender also follows, so none waits on the other."""
    from django.db import connection
    from django.utils import timezone

    from beffroi.notify.sms import caps
    from beffroi.notify.sms.models import SmsDailyCount

    one = caps.caps_for(number="+33612345678", purpose="verify", account="safe:7", organisation_id=commune.pk)
    assert [cap.key for cap in one] == sorted(cap.key for cap in one)
    batch = [one, caps.caps_for(number="+33712345678", purpose="reminder", account="safe:8",
                                organisation_id=other_commune.pk)]
    caps.hold(batch, timezone.localdate())
    held = set(SmsDailyCount.objects.filter(day=timezone.localdate()).values_list("key", flat=True))
    if connection.features.has_select_for_update:  # PostgreSQL: every row is there, and locked by this transaction
        assert held == {cap.key for caps_of_one in batch for cap in caps_of_one}
    else:  # SQLite: one writer at a time already, nothing to lock
        assert held == set()
