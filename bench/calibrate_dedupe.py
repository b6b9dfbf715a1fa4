"""Calibrate the near-duplicate threshold on the STS Benchmark news pairs, report test figures.

    python bench/calibrate_dedupe.py

Pairs scored >= 4 by people are duplicates, <= 2 are different, the rest are left out (as the
corpus README prescribes). The threshold that maximizes F1 on train + dev is reported together
with precision, recall and F1 on the test split, for both the exact Jaccard similarity and the
MinHash estimate wirefeed actually uses. Results: bench/results/dedupe_calibration.json.
"""

from __future__ import annotations

import json
from pathlib import Path

from common import ROOT, write_results

from ingest.fingerprint import (
    DUPLICATE_THRESHOLD,
    SHORT_DUPLICATE_THRESHOLD,
    signature,
    similarity,
    words,
)

PAIRS = ROOT / ".." / "shared" / "corpora" / "sts-news-headlines" / "sts-news-pairs.jsonl"


def load(splits: set[str], *, middle: bool = False) -> list[tuple[str, str, bool]]:
    """Pairs of ``splits``: scored >= 4 the same, <= 2 different; with ``middle`` also the
    2-4 band, as different (another report on the same event is not a copy)."""
    rows = []
    for line in PAIRS.read_text().splitlines():
        row = json.loads(line)
        if row["split"] in splits and (middle or row["score"] >= 4 or row["score"] <= 2):
            rows.append((row["s1"], row["s2"], row["score"] >= 4))
    return rows


def scores(rows: list[tuple[str, str, bool]], estimate: bool) -> list[tuple[float, bool]]:
    out = []
    for s1, s2, same in rows:
        a, b = words(s1), words(s2)
        if estimate:
            value = similarity(signature(a), signature(b))
        else:
            value = len(a & b) / len(a | b) if a | b else 0.0
        out.append((value, same))
    return out


def prf(scored: list[tuple[float, bool]], threshold: float) -> tuple[float, float, float]:
    tp = sum(1 for s, y in scored if s >= threshold and y)
    fp = sum(1 for s, y in scored if s >= threshold and not y)
    fn = sum(1 for s, y in scored if s < threshold and y)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    train, test = load({"train", "dev"}), load({"test"})
    figures: dict[str, object] = {
        "pairs_train_dev": len(train),
        "pairs_test": len(test),
        "threshold_in_use": DUPLICATE_THRESHOLD,
    }
    for name, estimate in (("exact_jaccard", False), ("minhash_estimate", True)):
        tr, te = scores(train, estimate), scores(test, estimate)
        best = max((prf(tr, t / 100)[2], t / 100) for t in range(5, 96))
        p, r, f = prf(te, best[1])
        p_use, r_use, f_use = prf(te, DUPLICATE_THRESHOLD)
        figures[name] = {
            "best_threshold_train_dev": best[1],
            "f1_train_dev": round(best[0], 3),
            "test_at_best": {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3)},
            "test_at_threshold_in_use": {
                "precision": round(p_use, 3),
                "recall": round(r_use, 3),
                "f1": round(f_use, 3),
            },
        }
        print(
            f"{name:>17}: best threshold {best[1]:.2f} (train+dev F1 {best[0]:.3f}); "
            f"test P {p:.3f} R {r:.3f} F1 {f:.3f}; at {DUPLICATE_THRESHOLD}: "
            f"P {p_use:.3f} R {r_use:.3f} F1 {f_use:.3f}"
        )
    figures["short_texts"] = short_texts()
    path = write_results("dedupe_calibration", figures)
    print(f"written to {Path(path)}")


def short_texts() -> dict[str, object]:
    """The bar for texts too short to have a lead (a headline alone, an STS sentence): every
    pair counts, the 2-4 middle band as "not the same", since another report on the same event
    is a new entry, not a copy. Exact Jaccard, as candidates are confirmed exactly."""
    train, test = load({"train", "dev"}, middle=True), load({"test"}, middle=True)
    tr, te = scores(train, False), scores(test, False)
    best = max((prf(tr, t / 100)[2], t / 100) for t in range(5, 96))
    p, r, f = prf(te, best[1])
    p_use, r_use, f_use = prf(te, SHORT_DUPLICATE_THRESHOLD)
    print(
        f"      short texts: best threshold {best[1]:.2f} (train+dev F1 {best[0]:.3f}); "
        f"test P {p:.3f} R {r:.3f} F1 {f:.3f}; at {SHORT_DUPLICATE_THRESHOLD}: "
        f"P {p_use:.3f} R {r_use:.3f} F1 {f_use:.3f}; at {DUPLICATE_THRESHOLD}: "
        f"F1 {prf(te, DUPLICATE_THRESHOLD)[2]:.3f}"
    )
    return {
        "pairs_train_dev": len(train),
        "pairs_test": len(test),
        "threshold_in_use": SHORT_DUPLICATE_THRESHOLD,
        "best_threshold_train_dev": best[1],
        "f1_train_dev": round(best[0], 3),
        "test_at_best": {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3)},
        "test_at_threshold_in_use": {
            "precision": round(p_use, 3),
            "recall": round(r_use, 3),
            "f1": round(f_use, 3),
        },
        "test_f1_at_the_long_text_threshold": round(prf(te, DUPLICATE_THRESHOLD)[2], 3),
    }


if __name__ == "__main__":
    main()
