"""The storage side: every module that talks to Redis.

:mod:`ingest.store.base` owns the client and turns every Redis error into a
:class:`~ingest.errors.StoreError` once; one adapter per domain builds on it (entries, reads,
editing, the dedupe and story indexes, sources, schedule, audit, embargoes); the Lua scripts
are named in :mod:`ingest.store.scripts`. Adapters return records: the verdicts are pure
functions in the top-level modules of :mod:`ingest`, called by :mod:`ingest.pipeline`.
"""
