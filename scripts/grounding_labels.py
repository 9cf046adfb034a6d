"""Hand labels for the sentence checker: draft a worksheet from an evaluation, then score.

    python scripts/grounding_labels.py draft ANSWERS.jsonl OUT.jsonl [--n 30]
    python scripts/grounding_labels.py score [tests/data/qa/grounding_labels.jsonl]

`draft` takes the answers an `answers_eval_bench.py --answers FILE` run wrote (the model's
raw text and the passages it was given, in order), splits each answer into the units the
checker sees and writes one line per answer with `supported: null` for a person to fill
in by reading the passages. It never shows the checker's verdicts: the labels must be
independent of it. `score` runs the checker on the labelled sentences and prints its
precision and recall against the labels (a label `null` is skipped).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from bot.domain.grounding import check_sentences
from bot.domain.sentences import split_units, strip_citations
from retrieval.embedding import Embedder, resolve_embedding_path

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "tests" / "data" / "qa" / "grounding_labels.jsonl"


@dataclass(frozen=True)
class Passage:
    source: str
    section: str
    text: str


def draft(answers: Path, out: Path, n: int) -> None:
    qa = ROOT / "tests" / "data" / "qa" / "answers.jsonl"
    types = {
        item["question"]: item["type"]
        for item in map(json.loads, qa.read_text(encoding="utf-8").splitlines())
    }
    lines = []
    for answer in map(json.loads, answers.read_text(encoding="utf-8").splitlines()):
        if not answer["model_text"].strip():
            continue
        sentences = [
            {"text": strip_citations(u)[0], "supported": None}
            for u in split_units(answer["model_text"])
        ]
        lines.append(
            {
                "question": answer["question"],
                "type": types.get(answer["question"], ""),
                "passages": answer["passages"],
                "sentences": sentences,
            }
        )
        if len(lines) == n:
            break
    out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    print(f"{len(lines)} answers, {sum(len(x['sentences']) for x in lines)} sentences -> {out}")


def score(path: Path) -> None:
    embedder = Embedder(resolve_embedding_path(""))
    tp = fp = fn = tn = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        answer = json.loads(line)
        passages = [Passage(p["source"], p["section"], p["text"]) for p in answer["passages"]]
        labelled = [s for s in answer["sentences"] if s["supported"] is not None]
        verdicts = check_sentences([s["text"] for s in labelled], passages, embedder)
        for label, verdict in zip(labelled, verdicts, strict=True):
            truth, said = bool(label["supported"]), verdict.supported
            tp += truth and said
            fp += said and not truth
            fn += truth and not said
            tn += not truth and not said
            if truth != said:
                print(f"{'FP' if said else 'FN'} ({verdict.reason}): {label['text'][:110]}")
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    print(f"sentences {tp + fp + fn + tn}: supported by label {tp + fn}, kept by checker {tp + fp}")
    print(f"precision {precision:.2f}  recall {recall:.2f}  (tp {tp} fp {fp} fn {fn} tn {tn})")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("draft")
    d.add_argument("answers", type=Path)
    d.add_argument("out", type=Path)
    d.add_argument("--n", type=int, default=30)
    s = sub.add_parser("score")
    s.add_argument("labels", type=Path, nargs="?", default=LABELS)
    args = parser.parse_args()
    if args.command == "draft":
        draft(args.answers, args.out, args.n)
    else:
        score(args.labels)


if __name__ == "__main__":
    main()
