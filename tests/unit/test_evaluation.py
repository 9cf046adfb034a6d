import pytest

from bot.domain.scoring import (
    ItemResult,
    QAItem,
    answer_contains,
    evidence_found,
    normalise,
    parse_qa,
    summarise,
)


def test_normalise_drops_case_whitespace_and_punctuation():
    assert normalise("Don’t  actually\nremove -- anything!") == "dontactuallyremoveanything"


def test_evidence_matches_across_line_breaks_and_punctuation():
    passage = "-n\n--dry-run\nDon't actually remove anything, just show what would be done."
    assert evidence_found(["dont actually remove anything just show"], [passage])
    assert not evidence_found(["remove everything"], [passage])
    assert not evidence_found([], [passage])


def test_parse_qa_accepts_lists_and_strings_and_reports_bad_lines():
    items = parse_qa(
        [
            '{"question": "q1", "must_contain": ["a"], "evidence": "e", "source": "s.html"}',
            "",
            '{"question": "q2", "evidence": ["e1", "e2"], "source": []}',
        ]
    )
    assert items[0] == QAItem("q1", ("a",), ("e",), ("s.html",))
    assert items[1].evidence == ("e1", "e2") and not items[1].answerable
    with pytest.raises(ValueError, match="line 1: not valid JSON"):
        parse_qa(["{oops"])
    with pytest.raises(ValueError, match='line 2: each line needs a non-empty "question"'):
        parse_qa(['{"question": "ok"}', '{"source": "x"}'])


def test_summary_scores_hits_refusals_and_answers():
    good = QAItem("q1", ("--amend",), ("fix the last commit",), ("git-commit.html",))
    missed = QAItem("q2", ("x",), ("never retrieved",), ("a.html",))
    outside = QAItem("q3")
    results = [
        ItemResult(good, ("Use --amend to fix the last commit.",), False, "Run --amend."),
        ItemResult(missed, ("something else",), False, "no idea"),
        ItemResult(outside, ("unrelated",), True, ""),
    ]
    report = summarise(results, k=5)
    assert report["hit_at_k"] == 0.5
    assert report["refusal_correct"] == 1.0
    assert report["answer_contains"] == 0.5
    assert report["out_of_material_refused"] == 1.0
    assert [i["refused"] for i in report["items"]] == [False, False, True]
    assert report["items"][0]["passages"] == ["Use --amend to fix the last commit."]


def test_answer_contains_is_case_insensitive_and_needs_every_key():
    assert answer_contains("Use GIT STASH POP", ["git stash pop"])
    assert not answer_contains("Use git stash", ["git stash", "pop"])


def test_per_type_scores_raw_and_shown_text_citations_and_answer_refusals():
    from bot.domain.scoring import Reply

    two = QAItem(
        "q2",
        ("Okta", "VPN"),
        ("Okta sign-in", "no VPN"),
        ("a.md", "b.md"),
        type="two-page",
        pages=(("Okta sign-in",), ("no VPN",)),
    )
    fact = QAItem("q1", ("30 days",), ("within 30 days",), ("a.md",), type="factual")
    outside = QAItem("q3", type="not-in-material")
    results = [
        ItemResult(
            fact,
            ("File within 30 days.",),
            False,
            "> File within 30 days. [1]",
            reply=Reply("> File within 30 days. [1]", "Whenever.", ("File within 30 days.",)),
        ),
        # only one of the two pages was found: not a hit
        ItemResult(two, ("Okta sign-in here.",), False, "x", reply=Reply("x", "Okta VPN")),
        ItemResult(outside, ("p",), False, "", reply=Reply("", "", declined=True)),
    ]
    report = summarise(results, k=5)
    assert report["per_type"]["two-page"]["hit_at_k"] == 0.0
    assert report["per_type"]["factual"]["hit_at_k"] == 1.0
    assert report["answer_contains"] == 0.5  # shown text: the quote carries "30 days"
    assert report["raw_contains"] == 0.5  # the model's own text: only the two-page one
    assert report["citation_rate"] == 0.5
    assert report["refusal_correct"] == 0.6667  # search accepted the outside question
    assert report["answer_refusal_correct"] == 1.0  # but the answer said it is not covered
    assert report["per_type"]["not-in-material"]["answer_refusal_correct"] == 1.0
    assert report["items"][0]["model_text"] == "Whenever."
