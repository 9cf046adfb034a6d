"""`learnloop kg`: the knowledge graph built from the material (stats, one concept, export).

What is shown is what the named audiences may see (default: everyone); `--all` shows
restricted material too, for the administrators who run this CLI."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.surfaces.cli.common import _fail, _print_json, _retrieval, lit, out

if TYPE_CHECKING:
    import networkx as nx
    import numpy as np

    from retrieval.graph.index import GraphIndex
    from retrieval.snapshot import Snapshot

kg_app = typer.Typer(help="The knowledge graph: concepts and relations.", no_args_is_help=True)

Audience = Annotated[
    list[str] | None,
    typer.Option("--audience", "-a", help="Show what members of GROUP see (repeatable)."),
]
All = Annotated[bool, typer.Option("--all", help="Include restricted material (admins).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _view(audience: list[str] | None, everything: bool) -> tuple[Snapshot, np.ndarray | None]:
    from retrieval.errors import RetrievalError
    from retrieval.store import normalise_audiences

    if everything and audience:
        _fail("give --audience or --all, not both")
    try:
        groups = sorted({"everyone", *normalise_audiences(audience or ["everyone"])})
    except RetrievalError as exc:
        _fail(exc.message)
    snap = _retrieval().searcher.snapshot()
    return snap, None if everything else snap.keywords.mask(groups)


def _sources(snap: Snapshot, graph: GraphIndex) -> list[str]:
    """The source of each of the graph's documents."""
    return [
        snap.rows[next(iter(d.rows.values()))].source if d.rows else "" for d in graph.documents
    ]


@kg_app.command()
def stats(audience: Audience = None, everything: All = False, as_json: Json = False) -> None:
    """Concepts and relations by kind."""
    snap, mask = _view(audience, everything)
    concepts = snap.graph.visible_concepts(mask)
    relations = snap.graph.visible_relations(mask)
    kinds = Counter(entries[0].concept.kind for entries in concepts.values())
    data = {
        "documents": len({e.doc for entries in concepts.values() for e in entries}),
        "concepts": len(concepts),
        "concepts_by_kind": dict(sorted(kinds.items())),
        "relations": len(relations),
        "relations_by_kind": dict(sorted(Counter(r.kind for _, r in relations).items())),
        "described": sum(any(e.concept.description for e in v) for v in concepts.values()),
    }
    if as_json:
        _print_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
        out.print(f"{key.replace('_', ' ')}: {value}")


@kg_app.command()
def show(
    concept: Annotated[str, typer.Argument(help="A concept's name or alias.")],
    audience: Audience = None,
    everything: All = False,
    as_json: Json = False,
) -> None:
    """One concept: its descriptions, where it is mentioned, and its relations."""
    from retrieval.graph.model import concept_key

    snap, mask = _view(audience, everything)
    graph = snap.graph
    visible = graph.visible_concepts(mask)
    key = concept_key(concept)
    if key not in visible:
        by_alias = [
            k
            for k, es in visible.items()
            if any(key in map(concept_key, e.concept.aliases) for e in es)
        ]
        if not by_alias:
            _fail(f"no concept called {concept!r} in the material you can see")
        key = by_alias[0]
    entries = visible[key]
    sources = _sources(snap, graph)
    names = {k: es[0].concept.name for k, es in visible.items()}
    data: dict[str, Any] = {
        "name": entries[0].concept.name,
        "kind": entries[0].concept.kind,
        "aliases": sorted({a for e in entries for a in e.concept.aliases}),
        "descriptions": [
            {"source": sources[e.doc], "text": e.concept.description}
            for e in entries
            if e.concept.description
        ],
        "mentions": [
            {
                "source": sources[e.doc],
                "section": snap.rows[graph.documents[e.doc].rows[i]].section,
            }
            for e in entries
            for i in e.concept.mentions
            if i in graph.documents[e.doc].rows
        ],
        "relations": sorted(
            {
                (
                    r.kind,
                    names.get(r.target, r.target)
                    if r.source == key
                    else names.get(r.source, r.source),
                    "out" if r.source == key else "in",
                )
                for _, r in graph.visible_relations(mask)
                if key in (r.source, r.target) and {r.source, r.target} <= visible.keys()
            }
        ),
    }
    data["relations"] = [{"kind": k, "concept": c, "direction": d} for k, c, d in data["relations"]]
    if as_json:
        _print_json(data)
        return
    out.print(f"[bold]{lit(data['name'])}[/] ({data['kind']})")
    if data["aliases"]:
        out.print(f"  also: {lit(', '.join(data['aliases']))}")
    for d in data["descriptions"]:
        out.print(f"  {lit(d['text'])}  [dim]({lit(d['source'])})[/]")
    for m in dict.fromkeys(f"{m['source']} › {m['section']}" for m in data["mentions"]):
        out.print(f"  mentioned in {lit(m)}")
    for r in data["relations"]:
        arrow = "->" if r["direction"] == "out" else "<-"
        out.print(f"  {r['kind']} {arrow} {lit(r['concept'])}")


def build_networkx(snap: Snapshot, mask: np.ndarray | None) -> nx.MultiDiGraph:
    """The visible graph as networkx: concept nodes, relation edges with their source."""
    import networkx as nx

    graph = snap.graph
    visible = graph.visible_concepts(mask)
    sources = _sources(snap, graph)
    g = nx.MultiDiGraph()
    for key, entries in visible.items():
        first = entries[0].concept
        g.add_node(
            key,
            name=first.name,
            kind=first.kind,
            description=next((e.concept.description for e in entries if e.concept.description), ""),
            sources=",".join(sorted({sources[e.doc] for e in entries})),
            mentions=sum(len(e.concept.mentions) for e in entries),
        )
    for d, r in graph.visible_relations(mask):
        if r.source in visible and r.target in visible:
            g.add_edge(r.source, r.target, kind=r.kind, weight=r.weight, source=sources[d])
    return g


@kg_app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="json or graphml")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
    audience: Audience = None,
    everything: All = False,
    as_json: Json = False,
) -> None:
    """The visible graph as node-link JSON or GraphML."""
    import networkx as nx

    if fmt not in ("json", "graphml"):
        _fail(f"--format must be json or graphml, not {fmt!r}")
    snap, mask = _view(audience, everything)
    g = build_networkx(snap, mask)
    if fmt == "json":
        text = json.dumps(nx.node_link_data(g, edges="edges"), ensure_ascii=False, indent=1)
    else:
        text = "\n".join(nx.generate_graphml(g)) + "\n"
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}")
    summary = {
        "output": str(output),
        "format": fmt,
        "concepts": g.number_of_nodes(),
        "relations": g.number_of_edges(),
    }
    if as_json:
        _print_json(summary)
    else:
        out.print(
            f"wrote {summary['concepts']} concepts and {summary['relations']} relations "
            f"to {lit(output)}"
        )
