"""Compatibility suite: every MongoDB feature the project relies on, one test per behaviour.

It runs in CI against the local wire-protocol emulator (nx-27017) and, unchanged, against a
real MongoDB 7+ when ``MONGODB_URL`` points at one::

    .venv/bin/python -m scripts.infra test -- tests/compat              # emulator
    MONGODB_URL=mongodb://host:27017/?replicaSet=rs0 \\
        .venv/bin/python -m scripts.infra test -- tests/compat          # real MongoDB

A feature the code starts to use must get a test here first; a feature that is not here is
not relied on.

Relied on (and tested)
----------------------
- Connecting with ``shared.mongo.connect`` (tz-aware client) and ``ping``.
- ``insert_one``/``find_one`` round trip of nested documents, arrays of sub-documents,
  strings, ints (incl. 64-bit), floats, booleans, ``None`` and tz-aware UTC datetimes
  (millisecond precision, as BSON), written whole by ``insert_one`` or ``replace_one``.
- ``replace_one`` guarded by ``{"_id": x, "version": v}``: matches 0 on a stale version.
- ``_id`` uniqueness and unique indexes on fields every document has, both raising
  ``DuplicateKeyError`` (``shared.mongo.is_duplicate``); ``create_indexes`` applied twice.
- ``insert_many(ordered=False)`` with a duplicate: ``BulkWriteError``, the others inserted.
- ``bulk_write(ordered=False)`` of version-guarded ``UpdateOne`` ``$set``s: ``matched_count``
  counts those whose version was current.
- ``find_one_and_update`` with ``$set`` + ``$inc`` of numbers, ``$lt`` on a float, ``sort=``,
  ``ReturnDocument.AFTER``; atomic under concurrency (one winner per claim, no lost ``$inc``).
- ``find_one_and_update(..., upsert=True)`` with ``$inc`` (the rate limits' counters): a new
  document gets the filter's equality fields (a datetime stays a BSON date); a filter that
  misses an existing ``_id`` changes and inserts nothing (MongoDB raises ``DuplicateKeyError``,
  the emulator answers no document; ``Quota`` reads both as "not taken here").
- ``update_one`` with ``$set`` of strings, numbers, booleans, ``[]`` and arrays of
  sub-documents, plus ``$inc``; ``matched_count``; ``update_one(..., upsert=True)`` with
  ``$set`` only.
- Queries: equality, ``$in``, ``$nin``, ``$gt``/``$lt`` on strings, numbers and datetimes,
  ``$ne`` on a scalar, membership in an array of strings by equality, ``$in`` and ``$nin``
  (the consumer idiom ``{"_id": x, "applied": {"$nin": [event_id]}}``), booleans written by
  ``$set`` (truthiness and ``{"flag": True/False}`` queries), dotted paths into sub-documents
  (any operator), dotted paths into arrays of sub-documents (equality only) and
  ``$elemMatch`` with equality and range conditions.
- Cursors: ``sort`` + ``limit`` pagination by ``{"_id": {"$gt": last}}`` (string and
  ObjectId ids), projections (inclusion and exclusion), ``to_list()``.
- ``delete_one``/``delete_many`` and their ``deleted_count``.
- ``create_indexes``' return value (the requested names).
- ``shared.mongo.Aggregates``: ``create``, ``update`` (``ConcurrencyConflict`` on a stale
  version), ``change`` under concurrency, ``applied_event`` deduplication, and the relay's
  claim/remove cycle over the documents ``Aggregates`` writes.

Not relied on (the emulator gets these wrong, or they are not needed)
---------------------------------------------------------------------
- ``$push`` of a document: the emulator stores the pushed sub-document as a JSON *string*, and
  turns the sub-documents already in the array into JSON strings too (``$push`` of a string
  works, but is not needed). Append by reading the document and writing the whole array
  (``$set``) or the whole document (``replace_one``) under a version filter.
- ``$set`` of a datetime as a scalar value (``{"$set": {"at": dt}}``, ``{"$set": {"a.at": dt}}``,
  also in ``find_one_and_update``): the emulator stores the string
  ``"2024-01-02 03:04:05"``. Datetimes are only written inside documents saved whole by
  ``insert_one``/``replace_one``.
- ``$ne`` against an array field (``{"applied": {"$ne": "e1"}}``): the emulator also matches
  documents whose array contains the value. Use ``{"$nin": [value]}``.
- Operators other than equality through a dotted path into an array of sub-documents
  (``{"lines.sku": {"$in": [...]}}``, ``{"lines.qty": {"$gt": 3}}``): the emulator matches
  nothing. ``$in`` inside ``$elemMatch`` matches nothing either.
- Index names as reported by ``list_indexes``/``index_information``: the emulator ignores the
  requested name and reports ``idx_<collection>_<fields>``. Indexes are compared by keys.
- Exact float values written as scalars by ``$set`` (also in ``find_one_and_update``): the
  emulator keeps about 15 significant digits (``$set`` of ``0.1 + 0.2`` reads back ``0.3``;
  ``1700000000.123456789`` reads back ``1700000000.12346``), so an equality filter on such a
  float does not match the value that was written. ``insert_one``/``replace_one``, and floats
  inside a sub-document or array written by ``$set``, keep every digit. Floats written by
  ``$set`` are only compared with ``$lt``/``$gt`` (leases, timestamps), never for equality.
- The stored *type* of a boolean written by ``$set``: the emulator returns ``1``/``0`` instead
  of ``True``/``False`` (queries ``{"flag": True}`` still match). Code tests truthiness only,
  never ``is True``.
- ``modified_count`` (only ``matched_count`` is used), exact error codes and messages beyond
  ``DuplicateKeyError``/``BulkWriteError``.
- Everything ARCHITECTURE.md lists as broken: multi-document transactions, Decimal128, partial
  unique indexes, unique indexes over fields that may be missing, ``$setOnInsert`` in
  ``find_one_and_update``, ``$addToSet`` on a missing field, ``$[]``/``arrayFilters``/numeric
  array paths, ``$not``, ``$ne: null``/``$exists`` on nulls, compiled regexes, ``$lookup``,
  exact TTL timing, w:0 writes, dots in collection names, ``count_documents`` in hot paths.
- Restart durability is not tested here.
"""
