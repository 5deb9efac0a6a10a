"""The audit log: append-only in the database, hash-chained, with signed checkpoints."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import DatabaseError, connection, transaction

from strongroom.edge.audit import append_only
from strongroom.edge.audit.checkpoints import checkpoint_file, checkpoint_problems, make_checkpoint
from strongroom.edge.audit.models import AuditEvent
from strongroom.edge.audit.services import first_broken_event, record_event

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def events(db: None) -> list[AuditEvent]:
    return [
        record_event(action=f"test.{i}", actor_type="system", actor="t", target=f"x:{i}")
        for i in range(5)
    ]


@pytest.fixture(autouse=True)
def fresh_checkpoints() -> Iterator[None]:
    checkpoint_file().unlink(missing_ok=True)
    yield
    checkpoint_file().unlink(missing_ok=True)


def sql(statement: str, *params: object) -> None:
    """Raw SQL, as an intruder with database access would write it."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_an_untouched_chain_verifies(events: list[AuditEvent]) -> None:
    assert first_broken_event() is None


def test_an_edited_row_is_found(events: list[AuditEvent]) -> None:
    sql("UPDATE audit_auditevent SET actor = 'mallory' WHERE seq = %s", events[2].seq)
    assert first_broken_event() == events[2].seq


def test_a_deleted_row_is_found_at_the_next_one(events: list[AuditEvent]) -> None:
    sql("DELETE FROM audit_auditevent WHERE seq = %s", events[1].seq)
    assert first_broken_event() == events[2].seq


def test_reordered_rows_are_found(events: list[AuditEvent]) -> None:
    a, b = events[1], events[3]
    sql(
        "UPDATE audit_auditevent SET action = %s, target = %s WHERE seq = %s",
        b.action,
        b.target,
        a.seq,
    )
    sql(
        "UPDATE audit_auditevent SET action = %s, target = %s WHERE seq = %s",
        a.action,
        a.target,
        b.seq,
    )
    assert first_broken_event() == a.seq


def test_a_cut_tail_is_found_by_a_signed_checkpoint(events: list[AuditEvent]) -> None:
    assert make_checkpoint() is not None
    assert checkpoint_problems() == []
    sql("DELETE FROM audit_auditevent WHERE seq = %s", events[-1].seq)
    assert first_broken_event() is None  # the chain alone can't see a cut tail
    assert any("cut short" in p for p in checkpoint_problems())


def test_a_forged_checkpoint_is_found(events: list[AuditEvent]) -> None:
    make_checkpoint()
    path = checkpoint_file()
    path.write_text(path.read_text().replace(events[-1].entry_hash, "0" * 64))
    assert any("signature does not verify" in p for p in checkpoint_problems())


def test_the_database_refuses_updates_and_deletes_of_audit_rows(events: list[AuditEvent]) -> None:
    append_only.install(connection)
    try:
        for statement in (
            "UPDATE audit_auditevent SET actor = 'x'",
            "DELETE FROM audit_auditevent",
        ):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                sql(statement)
        record_event(action="still.appends", actor_type="system", actor="t")
    finally:
        append_only.remove(connection)
    assert AuditEvent.objects.count() == len(events) + 1
