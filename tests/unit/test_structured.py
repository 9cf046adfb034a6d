"""Reading vLLM's structured-output fields, and the per-row sampling rules."""

from __future__ import annotations

import json

import pytest
import torch

from inference.engine import _held_back
from inference.sampling import SamplingParams, penalise_repeats, sample_row
from inference.structured import Constraint, GrammarError, constraint_of

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def test_structured_outputs_fields_become_one_constraint():
    allow = {"disable_any_whitespace": False}  # the server's default aside
    assert constraint_of({"json": SCHEMA}, None, **allow) == Constraint("json", json.dumps(SCHEMA))
    assert constraint_of({"json": SCHEMA, "disable_any_whitespace": True}, None) == Constraint(
        "json", json.dumps(SCHEMA), any_whitespace=False
    )
    assert constraint_of({"choice": ["yes", "no"]}, None).kind == "choice"
    assert constraint_of({"regex": r"\d+"}, None, **allow) == Constraint("regex", r"\d+")
    assert constraint_of({"grammar": 'root ::= "a"'}, None).kind == "grammar"
    assert constraint_of(None, None) is None
    assert constraint_of({}, {"type": "text"}) is None


def test_json_holds_no_free_whitespace_unless_the_request_or_the_server_allows_it():
    assert not constraint_of({"json": SCHEMA}, None).any_whitespace  # the default
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}}
    assert not constraint_of(None, fmt).any_whitespace
    asked = {"json": SCHEMA, "disable_any_whitespace": False}
    assert constraint_of(asked, None).any_whitespace  # a request may allow it
    server_allows = {"disable_any_whitespace": False}
    assert constraint_of({"json": SCHEMA}, None, **server_allows).any_whitespace
    forbidden = {"json": SCHEMA, "disable_any_whitespace": True}
    assert not constraint_of(forbidden, None, **server_allows).any_whitespace


def test_response_format_json_schema_and_json_object():
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}}
    assert constraint_of(None, fmt) == Constraint("json", json.dumps(SCHEMA), any_whitespace=False)
    assert constraint_of(None, {"type": "json_object"}).kind == "json_object"
    # structured_outputs wins when both are given, as the more specific vLLM field
    assert constraint_of({"regex": "a+"}, fmt).kind == "regex"


@pytest.mark.parametrize(
    ("fields", "fmt", "message"),
    [
        ({"json": SCHEMA, "regex": "a"}, None, "only use one kind"),
        ({"choice": []}, None, "non-empty list"),
        ({"choice": ["a", 1]}, None, "non-empty list"),
        ({"regex": 5}, None, "must be a string"),
        (None, {"type": "json_schema", "json_schema": {}}, "schema is required"),
        (None, {"type": "yaml"}, "unsupported response_format"),
    ],
)
def test_malformed_constraints_are_refused_with_a_reason(fields, fmt, message):
    with pytest.raises(GrammarError, match=message):
        constraint_of(fields, fmt)


def test_greedy_picks_the_best_token_and_top_p_keeps_the_head():
    logits = torch.tensor([0.1, 3.0, 2.9, -1.0])
    assert sample_row(logits, SamplingParams(temperature=0), None) == 1
    rng = torch.Generator().manual_seed(0)
    # top_p small enough that only the most likely token survives
    picks = {sample_row(logits, SamplingParams(temperature=1, top_p=0.1), rng) for _ in range(50)}
    assert picks == {1}
    wide = {sample_row(logits, SamplingParams(temperature=1, top_p=1.0), rng) for _ in range(200)}
    assert {1, 2} <= wide


def test_a_seed_makes_sampling_repeatable():
    logits = torch.randn(100)
    params = SamplingParams(temperature=1.0)

    def draw(seed: int) -> list[int]:
        rng = torch.Generator().manual_seed(seed)
        return [sample_row(logits, params, rng) for _ in range(20)]

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


def test_repetition_penalty_lowers_seen_tokens_whatever_their_sign():
    logits = torch.tensor([[2.0, -2.0, 1.0]])
    penalise_repeats(logits, 0, torch.tensor([0, 1]), 2.0)
    assert logits.tolist() == [[1.0, -4.0, 1.0]]


def test_stop_string_prefixes_are_held_back_while_streaming():
    assert _held_back("Hello wor", ("world",)) == 3
    assert _held_back("Hello", ("###",)) == 0
    assert _held_back("end #", ("##", "#!")) == 1
    assert _held_back("x", ()) == 0
