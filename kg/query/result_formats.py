"""The writers of query results, in the formats of :mod:`kg.formats`.

SELECT results are written here, row by row, so that a row cap can stop the engine early; the
writers follow the W3C result formats:
https://www.w3.org/TR/sparql11-results-json/ https://www.w3.org/TR/rdf-sparql-XMLres/
https://www.w3.org/TR/sparql11-results-csv-tsv/
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from itertools import islice
from typing import Iterable, Iterator
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from kg.formats import CSV, JSON, TRIG, TSV, TURTLE, XML, Format

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
#: The namespace of the ``its:dir`` attribute that carries a literal's base direction in SPARQL 1.2 XML results,
#: written on each such literal as Oxigraph writes it. https://www.w3.org/TR/sparql12-results-xml/
ITS = "http://www.w3.org/2005/11/its"


@dataclass(frozen=True)
class Written:
    body: bytes
    rows: int
    truncated: bool


def write(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples, fmt: Format, max_rows: int,
          prefixes: dict[str, str] | None = None) -> Written:
    """Serialise at most ``max_rows`` solutions (or triples); say whether more were left."""
    if isinstance(result, ox.QueryBoolean):
        return Written(result.serialize(format=fmt.results) or b"", 1, False)
    if isinstance(result, ox.QueryTriples):
        triples, truncated = _take(result, max_rows)
        options = {"prefixes": prefixes} if fmt in (TURTLE, TRIG) and prefixes else {}
        return Written(ox.serialize(triples, format=fmt.rdf, **options) or b"", len(triples), truncated)
    names = [v.value for v in result.variables]
    rows, truncated = _take(result, max_rows)
    writer = {JSON: _json, XML: _xml, CSV: _csv, TSV: _tsv}[fmt]
    return Written("".join(writer(names, rows)).encode("utf-8"), len(rows), truncated)


def _take(items: Iterable, limit: int) -> tuple[list, bool]:
    """At most ``limit`` items, and whether there were more: reads ``limit + 1`` of them, never the rest."""
    taken = list(islice(items, limit + 1 if limit < sys.maxsize else None))
    if len(taken) > limit:
        del taken[limit:]
        return taken, True
    return taken, False


def _json_term(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": _json_term(term.subject), "predicate": _json_term(term.predicate),
                                            "object": _json_term(term.object)}}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
        if term.direction is not None:
            out["its:dir"] = str(term.direction)
    elif term.datatype.value != XSD_STRING:
        out["datatype"] = term.datatype.value
    return out


#: JSON string literal of a str, as json.dumps(ensure_ascii=False) writes it (the C encoder).
_quote = json.encoder.encode_basestring


def _json_term_text(term) -> str:
    """``json.dumps(_json_term(term), ensure_ascii=False, separators=(",", ":"))``, without building the dict."""
    kind = type(term)
    if kind is ox.NamedNode:
        return '{"type":"uri","value":' + _quote(term.value) + "}"
    if kind is ox.Literal:
        if term.language:
            if term.direction is not None:
                return json.dumps(_json_term(term), ensure_ascii=False, separators=(",", ":"))
            return '{"type":"literal","value":' + _quote(term.value) + ',"xml:lang":' + _quote(term.language) + "}"
        datatype = term.datatype.value
        if datatype == XSD_STRING:
            return '{"type":"literal","value":' + _quote(term.value) + "}"
        return '{"type":"literal","value":' + _quote(term.value) + ',"datatype":' + _quote(datatype) + "}"
    if kind is ox.BlankNode:
        return '{"type":"bnode","value":' + _quote(term.value) + "}"
    return json.dumps(_json_term(term), ensure_ascii=False, separators=(",", ":"))


def _json(names: list[str], rows: list) -> Iterator[str]:
    yield '{"head":{"vars":' + json.dumps(names) + '},"results":{"bindings":['
    keys = [(i, _quote(n) + ":") for i, n in enumerate(names)]
    out = []
    for row in rows:
        out.append("{" + ",".join(key + _json_term_text(t) for i, key in keys if (t := row[i]) is not None) + "}")
    yield ",".join(out)
    yield "]}}"


def _xml_term(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Triple):
        return (f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}</predicate>"
                f"<object>{_xml_term(term.object)}</object></triple>")
    if term.language:
        direction = "" if term.direction is None else f' its:dir="{term.direction}" xmlns:its="{ITS}" its:version="2.0"'
        return f"<literal xml:lang={quoteattr(term.language)}{direction}>{escape(term.value)}</literal>"
    if term.datatype.value != XSD_STRING:
        return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
    return f"<literal>{escape(term.value)}</literal>"


def _xml(names: list[str], rows: list) -> Iterator[str]:
    yield '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>'
    yield "".join(f"<variable name={quoteattr(n)}/>" for n in names)
    yield "</head><results>"
    for row in rows:
        yield "<result>" + "".join(
            f"<binding name={quoteattr(n)}>{_xml_term(row[n])}</binding>" for n in names if row[n] is not None
        ) + "</result>"
    yield "</results></sparql>"


def _csv_text(term) -> str:
    """A term's CSV text before quoting: lexical forms only, a triple term as its three terms' texts
    separated by spaces, as Oxigraph writes it (the CSV format keeps no kinds of term)."""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.Triple):
        return " ".join(_csv_text(t) for t in (term.subject, term.predicate, term.object))
    return term.value


def _csv_cell(term) -> str:
    if term is None:
        return ""
    value = _csv_text(term)
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv(names: list[str], rows: list) -> Iterator[str]:
    out = io.StringIO()
    out.write(",".join(_csv_cell(ox.Literal(n)) for n in names) + "\r\n")
    for row in rows:
        out.write(",".join(_csv_cell(row[n]) for n in names) + "\r\n")
    yield out.getvalue()


def _tsv_term(term) -> str:
    """A term as TSV writes it: the Turtle-like form pyoxigraph's ``str`` gives (with a literal's
    ``@lang--dir``), and a triple term as ``<<( s p o )>>`` (SPARQL 1.2), which ``str`` leaves bare."""
    if isinstance(term, ox.Triple):
        return f"<<( {_tsv_term(term.subject)} {_tsv_term(term.predicate)} {_tsv_term(term.object)} )>>"
    return str(term)


def _tsv(names: list[str], rows: list) -> Iterator[str]:
    yield "\t".join("?" + n for n in names) + "\n"
    for row in rows:
        yield "\t".join("" if row[n] is None else _tsv_term(row[n]) for n in names) + "\n"
