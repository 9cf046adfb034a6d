"""Remove people's identities from text before anything is written for training."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

# A pragmatic address pattern (RFC 5322 in full is not worth it here): phonenumbers has no
# e-mail recogniser, and the known addresses of the store are removed by name anyway.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class Identities:
    """What the store knows about people: display names, e-mail addresses, platform user ids."""

    names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scrubber:
    """Known identities plus recognised e-mails and phone numbers; material names are kept."""

    identities: Identities = Identities()
    keep_names: frozenset[str] = frozenset()  # lower-cased names that occur in the material
    regions: tuple[str, ...] = ("US", "GB", "DE", "FR")

    def __call__(self, text: str) -> str:
        text = _replace_known(text, self.identities.emails, "[email]")
        text = _EMAIL.sub("[email]", text)
        text = _replace_known(text, self.identities.user_ids, "[user]")
        text = self._phones(text)
        names = [n for n in self.identities.names if n.strip().lower() not in self.keep_names]
        text = _replace_known(text, names, "[name]", words=True)
        # a first or last name alone is still the person; matched only as capitalised words,
        # so "Will" goes and the verb "will" stays
        parts = {p for n in names for p in n.split() if len(p) >= 3}
        return _replace_known(text, parts, "[name]", words=True, ignore_case=False)

    def _phones(self, text: str) -> str:
        for region in self.regions:
            spans = [
                (m.start, m.end)
                for m in phonenumbers.PhoneNumberMatcher(
                    text, region, leniency=phonenumbers.Leniency.VALID
                )
            ]
            for start, end in reversed(spans):
                text = text[:start] + "[phone]" + text[end:]
        return text


def scrubber_for(identities: Identities, material: Iterable[str]) -> Scrubber:
    """A scrubber that leaves alone the known names the material itself mentions."""
    corpus = "\n".join(material).lower()
    keep = frozenset(
        n.strip().lower()
        for n in identities.names
        if n.strip() and re.search(rf"\b{re.escape(n.strip().lower())}\b", corpus)
    )
    return Scrubber(identities, keep)


def _replace_known(
    text: str, values: Iterable[str], token: str, words: bool = False, ignore_case: bool = True
) -> str:
    # longest first, so "Ada Lovelace" goes before "Ada"
    for value in sorted({v.strip() for v in values if v.strip()}, key=len, reverse=True):
        pattern = re.escape(value)
        if words:
            pattern = rf"(?<!\w){pattern}(?!\w)"
        text = re.sub(pattern, token, text, flags=re.IGNORECASE if ignore_case else 0)
    return text
