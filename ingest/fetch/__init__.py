"""The fetch side: every module that talks HTTP to sources, or reads their drop folders.

:mod:`ingest.fetch.http` fetches with limits, :mod:`ingest.fetch.guard` keeps fetches off
private networks, :mod:`ingest.fetch.politeness` shares per-host budgets between workers,
:mod:`ingest.fetch.folder` reads drop folders and :mod:`ingest.fetch.subscriber` takes WebSub
pushes.
"""
