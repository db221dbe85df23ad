"""What held at a date: the memberships and posts of a page as of ``?asOf=2017-07-01``, each with its evidence.

The sources rarely give a period (``ic:during``); mostly they state a membership or post as of a date
(``ic:asOf``, the page's date) or show it at an event (``ic:attestedAt``). Such a statement says the fact held
then, not from when or until when, so a page never stretches it into a period: a row is shown as of a date only
where its own evidence agrees with that date, and says which evidence that is (README, "Facts in time", and
the competency questions cq37 and cq38 ask the same in SPARQL).

Dates are compared at the precision both sides have: the sources give years, months or days (``xsd:gYear``,
``xsd:gYearMonth``, ``xsd:date``), so ``2019`` agrees with ``2019-05-01`` and ``2017-07`` with ``2017-07-06``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from kg.site.describe import NaryRow

#: What ``?asOf=`` takes: a year, a month or a day.
AS_OF = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")


class BadDate(ValueError):
    """``?asOf=`` is not a year, a month or a day; the message says what is expected."""


def parse_as_of(text: str) -> str:
    if not AS_OF.fullmatch(text):
        raise BadDate(f"“{text[:20]}” is not a date: give a year, a month or a day, such as 2017, 2017-07 or 2017-07-01.")
    return text


@dataclass(frozen=True)
class Evidence:
    """Why a row is shown as of a date: ``period`` (it held from … to …), ``stated`` (a source states it as of
    ``date``) or ``attested`` (a source shows it at an event on ``date``)."""

    kind: str
    date: str

    @property
    def only_a_date(self) -> bool:
        """The sources attest the fact at this date; they give no period."""
        return self.kind != "period"


def held_at(row: NaryRow, at: str, event_start: Callable[[str], str | None]) -> Evidence | None:
    """The evidence that ``row`` held at ``at`` (see the module docstring), or None; ``event_start`` gives an
    event's start date (None if the sources give none)."""
    if row.start is not None or row.end is not None:
        begins = row.start is None or _prefix_cmp(row.start.value, at) <= 0
        ends = row.end is None or _prefix_cmp(row.end.value, at) >= 0
        if begins and ends:
            return Evidence("period", f"{row.start.value if row.start else '…'} – {row.end.value if row.end else '…'}")
    for stated in row.as_of:
        if _prefix_cmp(stated.value, at) == 0:
            return Evidence("stated", stated.value)
    for event in row.attested_at:
        date = event_start(event)
        if date is not None and _prefix_cmp(date, at) == 0:
            return Evidence("attested", date)
    return None


def _prefix_cmp(a: str, b: str) -> int:
    """Compare two dates at the precision both have: -1, 0 or 1."""
    n = min(len(a), len(b))
    return (a[:n] > b[:n]) - (a[:n] < b[:n])
