"""Refusals that read the question, not its words: a multi-word name is one unit, and a
word a prefix or suffix away from the material's is the material's word."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

PAGE = """# Travel and tools

## Booking travel
The travel desk books flights and hotels for business trips. Send your dates to the
travel desk at least two weeks ahead.

## Claims
Submit every claim in the Expense Portal within 30 days of the purchase.

## VPN
Install the VPN client from the Self-Service app, then sign in with your work account.
"""


@pytest.fixture
def searcher(retrieval, tmp_path):
    page = tmp_path / "travel.md"
    page.write_text(PAGE)
    assert all(r.ok for r in retrieval.ingestor.ingest_paths([page]))
    return retrieval.searcher


def test_a_multi_word_name_the_material_never_uses_is_refused(searcher):
    # every word of it is in the material, never together
    found = searcher.search("How do I log in to the Travel Desk Portal?", 5, None)
    assert "Travel Desk Portal" in found.signals.missing_names and not found.relevant
    known = searcher.search("How long do I have to file a claim in the Expense Portal?", 5, None)
    assert known.signals.missing_names == () and known.relevant


def test_a_word_a_prefix_or_suffix_away_counts_as_the_materials_word(searcher):
    found = searcher.search("How do I reinstall the VPN client?", 5, None)
    assert "reinstall" not in found.signals.missing_terms and found.relevant
    booking = searcher.search("Which team handles flight bookings for travellers?", 5, None)
    assert "bookings" not in booking.signals.missing_terms
