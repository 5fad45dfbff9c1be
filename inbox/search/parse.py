"""The search box's language, read into a :class:`SearchQuery` (pure: no database, no Flask).

    words           every word must match (in any message, a note, the author's name or handle,
                    a tag); the last plain word also matches as a prefix ("parc" finds "parcel")
    "two words"     a phrase: the words next to each other
    from:@handle    the customer's handle (``from:name`` or ``from:"First Last"``: their name)
    tag:name        tagged with that tag (``tag:"late delivery"``), exactly, case and script folded
    is:unassigned, is:mine, is:priority, is:open, is:pending, is:snoozed, is:archived

An unknown operator (``foo:bar``) or an unknown ``is:`` value is read as plain words, so a pasted
URL or a time ("10:30") still searches for its text instead of failing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .normalise import tokens

FLAGS = frozenset({"unassigned", "mine", "priority", "open", "pending", "snoozed", "archived"})
STATUSES = frozenset({"open", "pending", "snoozed", "archived"})

_PART = re.compile(r'(?P<op>[A-Za-z]+):(?:"(?P<qval>[^"]*)"?|(?P<val>\S+))|"(?P<phrase>[^"]*)"?|(?P<word>\S+)')


@dataclass(frozen=True)
class Term:
    """One thing the document must contain: a run of tokens next to each other (one token for a
    plain word); ``prefix``: the last token may be the start of a longer one."""
    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass
class SearchQuery:
    terms: list[Term] = field(default_factory=list)      # words and phrases, all required
    authors: list[Term] = field(default_factory=list)    # from:
    tags: list[str] = field(default_factory=list)        # tag: (folded names)
    flags: set[str] = field(default_factory=set)         # is:

    @property
    def empty(self) -> bool:
        return not (self.terms or self.authors or self.tags or self.flags)

    def marked(self) -> list[Term]:
        """What the highlighter marks: the words and phrases, token by token."""
        return [Term((t,), prefix=term.prefix and i == len(term.tokens) - 1)
                for term in self.terms for i, t in enumerate(term.tokens)]


def _prefixable(token: str) -> bool:
    """A one-letter prefix would expand to a large part of the vocabulary (slow, and useless as
    a filter); an emoji's token is whole."""
    return len(token) >= 2 and not re.fullmatch(r"sym[0-9a-f]+", token)


def parse(q: str | None) -> SearchQuery:
    query = SearchQuery()
    last_plain: int | None = None
    for match in _PART.finditer(q or ""):
        op, value = (match["op"] or "").lower(), match["qval"] if match["qval"] is not None else match["val"]
        if op == "from" and value and tokens(value.lstrip("@")):
            query.authors.append(Term(tuple(tokens(value.lstrip("@")))))
            last_plain = None
        elif op == "tag" and value and tokens(value):
            query.tags.append(" ".join(tokens(value)))
            last_plain = None
        elif op == "is" and value and value.lower() in FLAGS:
            query.flags.add(value.lower())
            last_plain = None
        elif match["phrase"] is not None:
            found = tuple(tokens(match["phrase"]))
            if found:
                query.terms.append(Term(found))
            last_plain = None
        else:
            found = tuple(tokens(match[0]))
            if found:
                query.terms.append(Term(found))
                last_plain = len(query.terms) - 1
            else:
                last_plain = last_plain if not match[0] else None
    if last_plain is not None and _prefixable(query.terms[last_plain].tokens[-1]):
        query.terms[last_plain] = Term(query.terms[last_plain].tokens, prefix=True)
    return query
