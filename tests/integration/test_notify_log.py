"""Channels and the delivery log in the database, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from tests.support.net import serve

from steward.core.errors import InvalidArgument, NotFound
from steward.notify import (
    DeliveryStatus,
    Notification,
    Notifier,
    RetryPolicy,
    configure_channel,
    delivery_log,
    get_channel,
    get_delivery,
    list_channels,
    purge_delivery_log,
    remove_channel,
)
from steward.notify.tables import ChannelRow
from steward.runtime import Runtime
from steward.store.base import load_all_tables
from steward.testing.notify import HttpReceiver

SECRET = "whsec-log-tests-0123456789"
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.005, max_delay_s=0.01, jitter=0)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[HttpReceiver, str]]:
    receiver = HttpReceiver(secret=SECRET)
    with serve(receiver) as url:
        yield receiver, url


@pytest.fixture
def receiver(server: tuple[HttpReceiver, str]) -> tuple[HttpReceiver, str]:
    server[0].reset()
    return server


def _configure(rt: Runtime, name: str, url: str, **kw: Any) -> None:
    with rt.uow() as uow:
        configure_channel(uow, name, "webhook", {"url": f"{url}/{name}", "secret": SECRET}, **kw)
        uow.commit()


def test_migration_creates_exactly_the_notify_tables(store_runtime: Runtime) -> None:
    with store_runtime.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), load_all_tables())
    ours = [d for d in diff if "notify_" in repr(d)]
    assert ours == []


def test_channels_store_secrets_apart_and_show_them_masked(store_runtime: Runtime) -> None:
    rt = store_runtime
    with rt.uow() as uow:
        info = configure_channel(
            uow,
            "risk-hook",
            "webhook",
            {"url": "https://hooks.example.org/a", "secret": SECRET},
            min_severity="warning",
        )
        uow.commit()
    assert info.config == {
        "url": "https://hooks.example.org/a",
        "secret": "********",
        "allow_http": False,
        "timeout_s": 10.0,
    }
    with rt.uow() as uow:
        row = uow.session.scalars(select(ChannelRow)).one()
        assert uow.notify.channel_secrets(row) == {"secret": SECRET} and "secret" not in row.config
        # Saving the form back (secret masked or left out) keeps the stored secret.
        configure_channel(uow, "risk-hook", "webhook", {**info.config, "url": "https://hooks.example.org/b"})
        uow.commit()
    with rt.uow() as uow:
        row = uow.session.scalars(select(ChannelRow)).one()
        assert uow.notify.channel_secrets(row) == {"secret": SECRET}
        assert row.config["url"] == "https://hooks.example.org/b"
        assert [c.name for c in list_channels(uow)] == ["risk-hook"]
        assert get_channel(uow, "risk-hook").min_severity == "info"  # not given again: back to the default
        with pytest.raises(InvalidArgument, match="'url'"):
            configure_channel(uow, "risk-hook", "slack", {})  # a new type does not inherit secrets
        remove_channel(uow, "risk-hook")
        uow.commit()
    with rt.uow() as uow:
        assert list_channels(uow) == []
        with pytest.raises(NotFound):
            get_channel(uow, "risk-hook")


@pytest.mark.parametrize("name", ["", "has space", "x" * 129, "-lead"])
def test_bad_channel_names_are_refused_and_change_nothing(runtime: Runtime, name: str) -> None:
    with runtime.uow() as uow, pytest.raises(InvalidArgument) as err:
        configure_channel(uow, name, "webhook", {"url": "https://h.example.org", "secret": SECRET})
    assert err.value.field == "name"
    with runtime.uow() as uow:
        assert list_channels(uow) == []


def test_routing_by_name_severity_and_enabled(runtime: Runtime, receiver: tuple[HttpReceiver, str]) -> None:
    rt, (recv, url) = runtime, receiver
    _configure(rt, "all", url)
    _configure(rt, "pager", url, min_severity="critical")
    _configure(rt, "off", url, enabled=False)
    notifier = Notifier(rt.uow, policy=FAST)
    assert {d.channel for d in notifier.send(Notification("a", severity="warning"))} == {"all"}
    assert {d.channel for d in notifier.send(Notification("b", severity="critical"))} == {"all", "pager"}
    assert [d.channel for d in notifier.send(Notification("c", severity="critical"), channels=["pager"])] == ["pager"]
    assert notifier.send(Notification("d"), channels=["off"]) == []
    with pytest.raises(NotFound):
        notifier.send(Notification("e"), channels=["nope"])
    assert sorted(r.path for r in recv.requests) == ["/all", "/all", "/pager", "/pager"]


def test_delivery_log_filters_and_pages(store_runtime: Runtime, receiver: tuple[HttpReceiver, str]) -> None:
    rt, (recv, url) = store_runtime, receiver
    _configure(rt, "a", url)
    _configure(rt, "b", url)
    notifier = Notifier(rt.uow, policy=FAST)
    for i in range(3):
        notifier.send(Notification(f"drift {i}", dedup_key=f"drift:{i}"))
    recv.fail_next(10)
    [failed] = notifier.send(Notification("lost"), channels=["b"])
    assert failed.status is DeliveryStatus.FAILED and len(failed.attempts) == 3
    with rt.uow() as uow:
        everything = delivery_log(uow, max_results=1000).items
        assert len(everything) == 7
        assert [d.created_at for d in everything] == sorted((d.created_at for d in everything), reverse=True)
        assert everything[0] == failed and everything[0].subject == "lost"
        assert {d.channel for d in delivery_log(uow, channel="a").items} == {"a"}
        assert delivery_log(uow, status="failed").items == [failed]
        assert len(delivery_log(uow, status=DeliveryStatus.DELIVERED).items) == 6
        assert {d.channel for d in delivery_log(uow, dedup_key="drift:1").items} == {"a", "b"}
        assert get_delivery(uow, failed.id) == failed
        pages, token = [], None
        while True:
            page = delivery_log(uow, max_results=3, page_token=token)
            pages.append(page.items)
            token = page.next_page_token
            if token is None:
                break
        assert [len(p) for p in pages] == [3, 3, 1]
        assert [d.id for p in pages for d in p] == [d.id for d in everything]
        with pytest.raises(InvalidArgument, match="status"):
            delivery_log(uow, status="lost")
        with pytest.raises(InvalidArgument, match="page_token"):
            delivery_log(uow, page_token="garbage!")
        with pytest.raises(NotFound):
            get_delivery(uow, "missing")


def test_repeats_within_the_dedup_window_are_suppressed(runtime: Runtime, receiver: tuple[HttpReceiver, str]) -> None:
    rt, (recv, url) = runtime, receiver
    _configure(rt, "a", url)
    notifier = Notifier(rt.uow, policy=FAST)
    first = notifier.send(Notification("drift", dedup_key="drift:churn"), dedup_window_ms=3_600_000)
    again = notifier.send(Notification("drift again", dedup_key="drift:churn"), dedup_window_ms=3_600_000)
    other = notifier.send(Notification("drift", dedup_key="drift:fraud"), dedup_window_ms=3_600_000)
    no_window = notifier.send(Notification("drift", dedup_key="drift:churn"))
    assert [d.status for d in first + again + other + no_window] == [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.SUPPRESSED,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.DELIVERED,
    ]
    assert again[0].attempts == () and len(recv.requests) == 3


def test_purge_removes_old_deliveries_and_their_attempts(
    store_runtime: Runtime, receiver: tuple[HttpReceiver, str]
) -> None:
    rt, (recv, url) = store_runtime, receiver
    _configure(rt, "a", url)
    recv.fail_next(1)
    Notifier(rt.uow, policy=FAST).send(Notification("old"))
    with rt.uow() as uow:
        assert purge_delivery_log(uow, older_than_ms=3_600_000) == 0
        assert purge_delivery_log(uow, older_than_ms=0) == 1
        uow.commit()
    with rt.uow() as uow:
        assert delivery_log(uow).items == []


def test_secrets_never_reach_the_logs_or_the_stored_errors(runtime: Runtime) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logger = logging.getLogger("steward.notify")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    token = "T0K3N-in-the-url-path"
    try:
        with runtime.uow() as uow:
            # Nothing listens on port 9 of loopback; the URL path is the secret.
            configure_channel(uow, "ops", "slack", {"url": f"http://127.0.0.1:9/services/{token}"})
            uow.commit()
        [delivery] = Notifier(runtime.uow, policy=FAST).send(Notification("x"))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert delivery.status is DeliveryStatus.FAILED
    shown = [r.getMessage() + repr(r.__dict__) for r in records]
    assert records and not any(token in text for text in shown)
    assert not any(token in (a.error or "") for a in delivery.attempts)
