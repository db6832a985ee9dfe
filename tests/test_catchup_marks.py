"""Catch-up marks on both stores: where reading a thread's history starts survives a process
killed mid catch-up, so live replies stored meanwhile cannot move the next start past a gap."""

from __future__ import annotations

from datetime import timedelta

from bot.store import Store
from tests.conftest import T0
from tests.test_store_contract import backend, contract_store, posted, reply

__all__ = ("backend", "contract_store")  # the contract suite's fixtures, on both backends


async def test_a_mark_stays_until_its_thread_is_read(contract_store: Store) -> None:
    empty = await posted(contract_store, "a1")
    talked = await posted(contract_store, "a2")
    await reply(contract_store, talked, "r1", at=T0 + timedelta(minutes=1))

    marks = await contract_store.catch_up_from([empty.id, talked.id])
    assert marks == {empty.id: None, talked.id: "r1"}

    # The process stores a newer live reply and dies before reading the threads.
    await reply(contract_store, talked, "r2", at=T0 + timedelta(minutes=2))
    assert await contract_store.catch_up_from([talked.id]) == {talked.id: "r1"}  # not r2

    await contract_store.caught_up(talked.id)
    assert await contract_store.catch_up_from([empty.id, talked.id]) == {empty.id: None, talked.id: "r2"}


async def test_no_discussions_no_marks(contract_store: Store) -> None:
    assert await contract_store.catch_up_from([]) == {}
