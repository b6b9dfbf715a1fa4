"""Who won a race between workers storing at the same moment, and what the loser becomes. Pure.

Decisions are taken against what the store held when the evidence was read. Between that read
and the writes another worker may store the same wire: its URL, its copy, a near copy of it,
or the story it was about to open. The store settles each such race in one slot (``SET NX``
claims, a script per near-copy bucket, the list of recent openings) and returns what it
found; the functions here say what that means for the item::

    claims      another entry holds the URL or the copy   -> decide again against it
    near claim  another near copy entered the buckets first -> decide again against it
    copies      the entry a copy names: stored, yielded on, or never there
    openings    a story opened a moment earlier that the item fits -> join it
    merges      the story was merged away meanwhile        -> follow it

Both sides of a race read the same records and reach the same verdict, so exactly one of two
racing items is stored, and the other is filed as what the decision against it says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from ingest import similar
from ingest.dedupe import (
    DedupePolicy,
    Evidence,
    NearRecord,
    decide,
    may_be_near,
    nearest,
    won_race,
)
from ingest.dedupe import entry_id as entry_id_of
from ingest.model import Action, Assignment, Decision, Known, Plan, to_ms
from ingest.stories import follow


def after_claims(
    plan: Plan,
    by_url: Known | None,
    by_copy: Known | None,
    now: datetime,
    policy: DedupePolicy,
) -> Decision | None:
    """The decision for a NEW plan whose URL or copy claim found another entry's there, if
    it is no longer NEW; None: the plan stands. A source's second copy of an entry it is
    credited on (already in a story) has its copy by design: only its URL counts."""
    if plan.decision.story_id is not None:
        by_copy = None
    if by_url is None and by_copy is None:
        return None
    decision = decide(plan.item, Evidence(by_url=by_url, by_copy=by_copy), now, policy)
    return None if decision.action is Action.NEW else decision


def after_near(
    plan: Plan,
    before: Mapping[str, set[str]],
    candidates: Sequence[NearRecord],
    now: datetime,
    policy: DedupePolicy,
) -> tuple[Decision, Known] | None:
    """The decision for a NEW plan that entered the near-copy index and found ``before``
    there (see :func:`ingest.dedupe.won_race`), with the near copy it yields to; None: it
    won, or no near copy that won is close enough."""
    # Whom it raced is worked out only for the candidates it could yield to (the rest would
    # be found too unlike anyway): each verdict needs the candidate's LSH bands.
    close = may_be_near(plan.item, candidates, policy)
    won = [c for c in close if won_race(c, plan.decision.entry_id, before)]
    rival, score, size = nearest(plan.item, won)
    if rival is None:
        return None
    evidence = Evidence(near=rival, near_score=score, near_terms=size)
    decision = decide(plan.item, evidence, now, policy)
    return None if decision.action is Action.NEW else (decision, rival)


def lost(plan: Plan, decision: Decision, owner: Known) -> Plan:
    """``plan`` filed as ``decision`` against the entry that won its race."""
    return Plan(plan.item, decision, Assignment(decision.story_id or owner.story_id, False))


def owner_named(plan: Plan) -> Known:
    """The entry a copy (a DUPLICATE plan) was decided against."""
    return Known(plan.decision.entry_id, plan.assignment.story_id, plan.decision.version, "")


def settle_copies(
    plans: Sequence[Plan],
    settled: Mapping[int, Known],
    held: Mapping[tuple[str, str], str],
) -> list[Plan]:
    """Every copy credited on an entry that exists. ``settled``: for the DUPLICATE plans (by
    position) the stored entry their owner settled on, following yields (missing: none
    appeared); ``held``: (entry, source) -> the link that source is credited with there.

    A copy whose owner never appeared is an entry of its own: nothing a source lists is
    credited on an entry no feed shows. A copy of an entry its source is credited on with
    another link is that source's second copy: an entry of its own, in the owner's story."""
    credits = dict(held)
    out = list(plans)
    for n, plan in enumerate(plans):
        if plan.decision.action is not Action.DUPLICATE:
            continue
        owner = settled.get(n)
        own = entry_id_of(plan.item.source_id, plan.item.identity)
        if owner is None:
            decision = Decision(Action.NEW, own, 1)
            out[n] = Plan(plan.item, decision, Assignment(plan.assignment.story_id, True))
            continue
        credit = (owner.entry_id, plan.item.source_id)
        link = plan.item.url or ""
        if credits.get(credit, link) != link:
            decision = Decision(Action.NEW, own, 1, owner.story_id, "a second copy")
            out[n] = Plan(plan.item, decision, Assignment(owner.story_id, False))
            continue
        credits[credit] = link
        if owner.entry_id != plan.decision.entry_id:
            decision = replace(plan.decision, entry_id=owner.entry_id, story_id=owner.story_id)
            out[n] = Plan(plan.item, decision, Assignment(owner.story_id, False), plan.known)
    return out


def opening(plan: Plan) -> bool:
    """Whether storing ``plan`` opens a story by a similarity miss (which another fetch may
    have opened a moment earlier)."""
    return (
        plan.decision.action is Action.NEW
        and plan.assignment.new_story
        and bool(plan.linking.vector)
    )


def rejoined(
    plans: Sequence[Plan],
    prior: Mapping[int, Sequence[similar.Opening]],
    policy: similar.SimilarityPolicy,
) -> tuple[list[Plan], dict[str, str]]:
    """Plans about to open a story that fit one opened a moment earlier (``prior``: by
    position, the openings entered before each; see :func:`ingest.similar.rejoin`) join that
    one instead. Returns the plans and, for each story not opened, the story joined."""
    out = list(plans)
    into: dict[str, str] = {}
    for n, seen in prior.items():
        plan = plans[n]
        bar = policy.threshold_for(len(plan.item.terms))
        at_ms = to_ms(plan.item.published)
        weighted = dict(plan.linking.vector)
        joined = similar.rejoin(weighted, at_ms, plan.assignment.story_id, seen, policy, bar)
        if joined is not None:
            into[plan.assignment.story_id] = joined
            out[n] = replace(plan, assignment=Assignment(joined, new_story=False))
    return out, into


def names_story(plan: Plan) -> bool:
    """Whether ``plan`` writes into a story that exists already (and may have been merged)."""
    return (
        plan.decision.action in (Action.NEW, Action.UPDATE, Action.DUPLICATE)
        and not plan.assignment.new_story
    )


def followed(plan: Plan, into: Mapping[str, str]) -> Plan:
    """``plan`` with its story (and its decision's, for a copy) followed through merges: an
    entry written into a story merged away would be in no feed."""
    story = follow(plan.assignment.story_id, into)
    if story == plan.assignment.story_id:
        return plan
    assert story is not None
    decision = plan.decision
    if decision.story_id is not None:
        decision = replace(decision, story_id=follow(decision.story_id, into))
    return replace(plan, decision=decision, assignment=Assignment(story, False))
