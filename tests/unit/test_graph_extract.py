"""Structural concept extraction on crafted HTML and Markdown, and the graph's PageRank."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.chunking import chunk_document
from retrieval.graph.extract import StructuralExtractor
from retrieval.graph.index import GraphDocument, GraphIndex
from retrieval.graph.llm import merge
from retrieval.graph.model import Concept, DocumentGraph, Relation, concept_key
from retrieval.parse import parse

HTML = b"""<html><head><title>Deploy Guide</title></head><body>
<h1>Deploy Guide</h1>
<p>How we ship the service.</p>
<h2>Glossary</h2>
<dl>
<dt>Artifact</dt><dd>A built package of the service, stored in the registry for deploys.</dd>
<dt>-n</dt><dt>--dry-run</dt><dd>Show what the deploy would change without changing anything.</dd>
<dt>Release train</dt><dd>A weekly schedule that ships every Artifact merged before Monday.</dd>
</dl>
<h2>Rollouts</h2>
<h3>Canary</h3>
<p>A canary is a small slice of traffic sent to the new version first.
See also the Release train for timing.</p>
</body></html>"""

MARKDOWN = b"""# Onboarding

## Accounts

**Okta**: the single sign-on service every company application uses.

Before you request a laptop, set up your Okta account with the IT Help Center.

## Laptops

A laptop is ordered through the Self Service app once Okta works.
"""


@pytest.fixture(scope="module")
def html_graph() -> DocumentGraph:
    doc = parse("deploy.html", HTML)
    return StructuralExtractor().extract(doc, chunk_document(doc))


def test_definition_list_items_become_concepts_with_aliases_and_descriptions(html_graph):
    artifact = html_graph.concept(concept_key("Artifact"))
    assert artifact is not None and artifact.kind == "term"
    assert artifact.description.startswith("A built package of the service")
    dry_run = html_graph.concept(concept_key("--dry-run"))
    assert dry_run is not None and dry_run.aliases == ("-n",)
    assert "without changing anything" in dry_run.description


def test_heading_tree_gives_part_of(html_graph):
    part_of = html_graph.related("part_of")
    canary, rollouts = concept_key("Canary"), concept_key("Rollouts")
    assert (canary, rollouts) in part_of
    assert (rollouts, concept_key("Deploy Guide")) in part_of
    # a definition is part of the section it is defined under
    assert (concept_key("Artifact"), concept_key("Glossary")) in part_of


def test_term_used_in_a_later_definition_is_its_prerequisite(html_graph):
    assert (concept_key("Artifact"), concept_key("Release train")) in html_graph.related(
        "prerequisite_of"
    )
    # not the other way round: the later term is not used in the earlier definition
    assert (concept_key("Release train"), concept_key("Artifact")) not in html_graph.related(
        "prerequisite_of"
    )


def test_see_also_and_mentions(html_graph):
    assert (concept_key("Canary"), concept_key("Release train")) in html_graph.related("see_also")
    train = html_graph.concept(concept_key("Release train"))
    assert train is not None and len(train.mentions) >= 1


def test_markdown_glossary_before_you_wording_and_entities():
    doc = parse("onboarding.md", MARKDOWN)
    graph = StructuralExtractor().extract(doc, chunk_document(doc))
    okta = graph.concept(concept_key("Okta"))
    assert okta is not None and okta.description.startswith("the single sign-on service")
    assert graph.concept(concept_key("Self Service")) is not None
    # "Before you request a laptop, set up your Okta account": Okta comes first
    first = {s for s, t in graph.related("prerequisite_of") if t == concept_key("laptop")}
    assert first & {concept_key("Okta"), concept_key("Okta account")}, graph.relations


def test_names_merge_by_normalised_key():
    assert concept_key("The Expense Portals") == concept_key("expense portal")
    assert concept_key("--all") == "--all"
    a = DocumentGraph((Concept("x", "X", "term", "", (), (0,)),))
    b = DocumentGraph((Concept("x", "x", "entity", "defined here", ("ex",), (2,)),))
    merged = merge([a, b]).concepts[0]
    assert (merged.name, merged.description, merged.mentions, merged.aliases) == (
        "X",
        "defined here",
        (0, 2),
        ("ex",),
    )


def _index() -> GraphIndex:
    # doc 0 (rows 0-2): "vpn" in row 0, "okta" in rows 0 and 1; doc 1 (rows 3-4), a
    # restricted one: "secret plan" in row 3 and 4, related to okta
    open_doc = DocumentGraph(
        (
            Concept("vpn", "VPN", "entity", mentions=(0,)),
            Concept("okta", "Okta", "entity", mentions=(0, 1)),
        ),
    )
    closed_doc = DocumentGraph(
        (
            Concept("secret plan", "Secret plan", "term", mentions=(0, 1)),
            Concept("okta", "Okta", "entity", mentions=(1,)),
        ),
        (Relation("secret plan", "okta", "related_to", 2.0),),
    )
    vec = np.eye(4, dtype=np.float32)
    return GraphIndex(
        [
            GraphDocument({0: 0, 1: 1, 2: 2}, open_doc, vec[:2]),
            GraphDocument({0: 3, 1: 4}, closed_doc, vec[2:4]),
        ],
        5,
    )


def test_pagerank_reaches_chunks_through_shared_concepts():
    index = _index()
    everyone = np.array([True, True, True, True, True])
    seeds = index.seeds("How do I set up the VPN?", np.zeros(4, np.float32), everyone)
    assert set(seeds) == {index.nodes["vpn"]}
    ranked = index.rank_chunks(seeds, everyone, 5)
    assert ranked[0] == 0  # the chunk naming the seed first
    assert 1 in ranked  # ... then one reached through Okta, which chunk 0 also names
    assert 2 not in ranked  # no concept ties chunk 2 to anything


def test_restricted_concepts_and_edges_take_no_part_for_others():
    index = _index()
    public = np.array([True, True, True, False, False])
    assert index.seeds("the secret plan", np.zeros(4, np.float32), public) == {}
    seeds = index.seeds("Okta", np.zeros(4, np.float32), public)
    ranked = index.rank_chunks(seeds, public, 5)
    assert ranked and not set(ranked) & {3, 4}
    assert "secret plan" not in index.visible_concepts(public)
    # the restricted document's edges are not in the public matrix at all
    matrix = index.matrix(public).tocoo()
    restricted = {index.n_concepts + 3, index.n_concepts + 4, index.nodes["secret plan"]}
    assert not restricted & (set(matrix.row.tolist()) | set(matrix.col.tolist()))
    nearest = index.seeds("anything", np.array([0, 0, 1, 0], np.float32), public)
    assert index.nodes["secret plan"] not in nearest


def test_command_line_options_in_running_text_are_identifiers_even_once():
    doc = parse(
        "deploy.md",
        b"# Deploy\n\nRun the deploy with --dry-run first. A pre-flight check-list helps.\n",
    )
    keys = {c.key: c.kind for c in StructuralExtractor().extract(doc, chunk_document(doc)).concepts}
    assert keys.get(concept_key("--dry-run")) == "identifier"
    assert concept_key("pre-flight") not in keys  # a hyphenated word once is not an option


def test_pagerank_seeded_by_a_passage_reaches_another_page_through_its_concepts():
    index = _index()
    everyone = np.ones(5, dtype=bool)
    # no concept seeds at all: the walk starts from row 1 (it names Okta) alone
    ranked = index.rank_chunks({}, everyone, 5, passages={1: 1.0})
    assert ranked[0] == 1  # the seed passage itself first
    assert 0 in ranked and 3 in ranked  # the other chunks naming Okta, on both pages
    assert 2 not in ranked
    public = np.array([True, True, True, False, False])
    assert not set(index.rank_chunks({}, public, 5, passages={1: 1.0})) & {3, 4}
    assert index.rank_chunks({}, public, 5, passages={3: 1.0}) == []  # a hidden seed: none
