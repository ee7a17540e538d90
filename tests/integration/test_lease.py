"""The kit's lease on a MongoDB document (``shared.lease``): one holder at a time, taken over
once it runs out, kept by renewing, freed by releasing; every write checks it is still held."""

from __future__ import annotations

import asyncio

import pytest

from shared.lease import Lease, LeaseFields

pytestmark = pytest.mark.integration


async def test_a_free_document_is_claimed_with_the_fields_and_version_written(jobs, clock):
    taken = await jobs.claim({"_id": "job-0"}, "worker-a", also={"status": "running"})
    assert taken is not None
    assert taken.until == clock.now + 30.0 and taken.previous == ""
    stored = await jobs.collection.find_one({"_id": "job-0"})
    assert stored == taken.doc
    assert stored["lease_owner"] == "worker-a" and stored["lease_until"] == clock.now + 30.0
    assert stored["status"] == "running" and stored["version"] == 2
    assert taken.before["version"] == 1 and taken.before["lease_owner"] == ""


async def test_a_held_lease_is_not_taken_by_another_holder(jobs, clock):
    assert await jobs.claim({"_id": "job-0"}, "worker-a") is not None
    clock.now += 29.0
    assert await jobs.claim({"_id": "job-0"}, "worker-b") is None
    assert (await jobs.collection.find_one({"_id": "job-0"}))["lease_owner"] == "worker-a"


async def test_an_expired_lease_is_taken_over_and_the_previous_holder_is_named(jobs, clock):
    assert await jobs.claim({"_id": "job-0"}, "worker-a") is not None
    clock.now += 31.0
    taken = await jobs.claim({"_id": "job-0"}, "worker-b")
    assert taken is not None and taken.previous == "worker-a"
    assert (await jobs.collection.find_one({"_id": "job-0"}))["lease_owner"] == "worker-b"
    # The one that lost it can neither renew nor release it, nor finish under it.
    assert await jobs.renew({"_id": "job-0"}, "worker-a") is None
    assert not await jobs.release({"_id": "job-0"}, "worker-a")
    done = await jobs.collection.update_one({"_id": "job-0", **jobs.fields.mine("worker-a")},
                                            {"$set": {"status": "completed"}})
    assert done.matched_count == 0
    assert (await jobs.collection.find_one({"_id": "job-0"}))["status"] == "queued"


async def test_a_renewed_lease_is_not_taken_when_its_first_term_has_passed(jobs, clock):
    assert await jobs.claim({"_id": "job-0"}, "worker-a") is not None
    clock.now += 20.0
    renewed = await jobs.renew({"_id": "job-0"}, "worker-a")
    assert renewed == clock.now + 30.0
    clock.now += 20.0  # 40 s after the claim, 20 s after the renewal
    assert await jobs.claim({"_id": "job-0"}, "worker-b") is None
    clock.now += 11.0
    assert await jobs.claim({"_id": "job-0"}, "worker-b") is not None


async def test_release_frees_the_document_at_once(jobs, clock):
    assert await jobs.claim({"_id": "job-0"}, "worker-a") is not None
    assert await jobs.release({"_id": "job-0"}, "worker-a", also={"status": "queued"})
    stored = await jobs.collection.find_one({"_id": "job-0"})
    assert stored["lease_owner"] == "" and stored["lease_until"] == 0.0
    assert not jobs.fields.running(stored, clock.now)
    taken = await jobs.claim({"_id": "job-0"}, "worker-b")
    assert taken is not None and taken.previous == ""


async def test_the_filter_chooses_what_may_be_claimed(jobs):
    assert await jobs.claim({"status": "completed"}, "worker-a") is None
    taken = await jobs.claim({"n": {"$gte": 2}}, "worker-a")
    assert taken is not None and taken.doc["_id"] == "job-2"


async def test_concurrent_claims_of_one_document_have_one_winner(jobs):
    taken = await asyncio.gather(*(jobs.claim({"_id": "job-1"}, f"worker-{i}")
                                   for i in range(8)))
    winners = [t for t in taken if t is not None]
    assert len(winners) == 1
    stored = await jobs.collection.find_one({"_id": "job-1"})
    assert stored["lease_owner"] == winners[0].holder


async def test_claim_many_takes_each_document_once_oldest_first(jobs, clock):
    first = await jobs.claim_many({}, "batch-1", limit=2, sort="n", owner="")
    assert [d["_id"] for d in first.docs] == ["job-0", "job-1"]
    assert all(d["lease_owner"] == "batch-1" for d in first.docs)
    second = await jobs.claim_many({}, "batch-2", limit=5, sort="n")
    assert [d["_id"] for d in second.docs] == ["job-2"]
    assert (await jobs.claim_many({}, "batch-3", limit=5, sort="n")).docs == []
    batches = await asyncio.gather(*(Lease(jobs.collection, seconds=30.0, clock=clock)
                                     .claim_many({}, f"late-{i}", limit=3, sort="n")
                                     for i in range(4)))
    assert all(b.docs == [] for b in batches)


async def test_fields_of_another_name_and_an_owner_field(db, clock):
    coll = db["deliveries"]
    await coll.insert_one({"_id": "d-1", "version": 1, "claim_until": 0.0, "claim_id": "",
                           "claim_process": ""})
    lease = Lease(coll, seconds=5.0, clock=clock, fields=LeaseFields(
        until="claim_until", holder="claim_id", owner="claim_process"))
    taken = await lease.claim({"_id": "d-1"}, "token-1", owner="proc-a")
    assert taken is not None
    stored = await coll.find_one({"_id": "d-1"})
    assert (stored["claim_id"], stored["claim_process"]) == ("token-1", "proc-a")
    assert lease.fields.running(stored, clock.now) and lease.fields.held_by(stored, "token-1")
    assert not lease.fields.held_by(stored, "token-2")
    clock.now += 6.0
    assert not lease.fields.running(stored, clock.now)
    assert await lease.release({"_id": "d-1"}, "token-1")
    stored = await coll.find_one({"_id": "d-1"})
    assert (stored["claim_id"], stored["claim_process"], stored["claim_until"]) == ("", "", 0.0)
