"""The writers of query results, in the formats of :mod:`kg.formats`.

SELECT results are written here, row by row, so that a row cap can stop the engine early; the
writers follow the W3C result formats:
https://www.w3.org/TR/sparql11-results-json/ https://www.w3.org/TR/rdf-sparql-XMLres/
https://www.w3.org/TR/sparql11-results-csv-tsv/
"""

from __future__ import annotations

import io
import json
import re
import sys
from dataclasses import dataclass
from itertools import islice
from typing import Iterable, Iterator
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from kg.formats import CSV, JSON, JSONLD, RDFXML, TRIG, TSV, TURTLE, XML, Format

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
#: The namespace of the ``its:dir`` attribute that carries a literal's base direction in SPARQL 1.2 XML results,
#: written on each such literal as Oxigraph writes it. https://www.w3.org/TR/sparql12-results-xml/
ITS = "http://www.w3.org/2005/11/its"


#: A character XML 1.0 cannot hold, not even as a character reference (XML 1.0 §2.2 Char); Oxigraph writes it
#: as it is, making a document no XML parser reads.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_NAME_START = ("A-Z_a-z\xc0-\xd6\xd8-\xf6\xf8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d\u2070-\u218f"
                   "\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff")
#: The local name RDF/XML writes a predicate with: the longest NCName ending its IRI (XML Namespaces §3), as
#: Oxigraph splits it; a predicate without one (``urn:x:1``) cannot be written (RDF/XML §2.2).
_XML_LOCAL_NAME = re.compile(f"[{_XML_NAME_START}][{_XML_NAME_START}\\-.0-9\xb7\u0300-\u036f\u203f-\u2040]*\\Z")


class NotExpressible(ValueError):
    """The answer holds something the requested format cannot write; the message names formats that can."""


@dataclass(frozen=True)
class Written:
    body: bytes
    rows: int
    truncated: bool


def write(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples | list[ox.Triple], fmt: Format, max_rows: int,
          prefixes: dict[str, str] | None = None) -> Written:
    """Serialise at most ``max_rows`` solutions (or triples); say whether more were left."""
    if isinstance(result, ox.QueryBoolean):
        return Written(result.serialize(format=fmt.results) or b"", 1, False)
    if not isinstance(result, ox.QuerySolutions):  # triples: a CONSTRUCT's, or parsed from an engine's answer
        triples, truncated = _take(result, max_rows)
        _check_expressible(triples, fmt)
        if fmt is RDFXML:
            triples = [_ncname_blank_nodes(t) for t in triples]
        options = {"prefixes": prefixes} if fmt in (TURTLE, TRIG) and prefixes else {}
        body = ox.serialize(triples, format=fmt.rdf, **options) or b""
        if fmt is RDFXML:
            # Oxigraph writes a literal's carriage return as it is, which XML parsers read as a line feed; it writes
            # none anywhere else (its layout is line feeds and tabs, IRIs hold none), so each one is a literal's.
            body = body.replace(b"\r", b"&#13;")
        return Written(body, len(triples), truncated)
    names = [v.value for v in result.variables]
    rows, truncated = _take(result, max_rows)
    if fmt is XML:
        _check_xml_text((term for row in rows for term in row if term is not None), "SPARQL XML results",
                        "JSON (format=json) or TSV (format=tsv)")
    writer = {JSON: _json, XML: _xml, CSV: _csv, TSV: _tsv}[fmt]
    return Written("".join(writer(names, rows)).encode("utf-8"), len(rows), truncated)


def _terms(term) -> Iterator:
    """``term`` and, for a triple term, every term inside it."""
    yield term
    if isinstance(term, ox.Triple):
        for inner in (term.subject, term.predicate, term.object):
            yield from _terms(inner)


def _check_xml_text(terms: Iterable, format_label: str, instead: str) -> None:
    """Refuse a literal with a character no XML 1.0 document can hold (IRIs and blank node labels cannot have one)."""
    for outer in terms:
        for term in _terms(outer):
            if isinstance(term, ox.Literal) and (bad := _NOT_XML_CHAR.search(term.value)):
                raise NotExpressible(f"{format_label} cannot hold the character U+{ord(bad.group()):04X} of a literal in "
                                     f"this answer (XML 1.0 has no way to write it); ask for {instead}.")


def _check_expressible(triples: list, fmt: Format) -> None:
    """Refuse triples that ``fmt`` cannot write, which Oxigraph would write wrongly (RDF/XML) or fail on (JSON-LD)."""
    instead = "Turtle (format=turtle) or N-Triples (format=ntriples)"
    if fmt is RDFXML:
        _check_xml_text((t.object for t in triples), "RDF/XML", instead)
        for term in (inner for t in triples for inner in _terms(t)):
            if isinstance(term, ox.Triple) and not _XML_LOCAL_NAME.search(term.predicate.value):
                raise NotExpressible(f"RDF/XML cannot write the predicate <{term.predicate.value}>: it does not end in "
                                     f"an XML name to split it at (RDF/XML §2.2); ask for {instead}.")
    elif fmt is JSONLD and any(isinstance(inner, ox.Triple) for t in triples for inner in (t.subject, t.object)):
        raise NotExpressible(f"JSON-LD cannot write triple terms (RDF 1.2), which this answer holds; ask for {instead}.")


def _ncname_blank_nodes(term):
    """``term`` with each blank node's label made an XML name by a prefix, as RDF/XML's ``rdf:nodeID`` must be
    (RDF/XML §2.10); Oxigraph writes its labels as they are, and three in five begin with a digit, which parsers
    such as rdflib's refuse. The same prefix on every label keeps distinct nodes distinct."""
    if isinstance(term, ox.BlankNode):
        return ox.BlankNode("b" + term.value)
    if isinstance(term, ox.Triple):
        return ox.Triple(_ncname_blank_nodes(term.subject), term.predicate, _ncname_blank_nodes(term.object))
    return term


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


def _text(value: str) -> str:
    """XML character data; a carriage return as a reference, which XML parsers would otherwise read as a line feed."""
    return escape(value, {"\r": "&#13;"})


def _xml_term(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{_text(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_text(term.value)}</bnode>"
    if isinstance(term, ox.Triple):
        return (f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}</predicate>"
                f"<object>{_xml_term(term.object)}</object></triple>")
    if term.language:
        direction = "" if term.direction is None else f' its:dir="{term.direction}" xmlns:its="{ITS}" its:version="2.0"'
        return f"<literal xml:lang={quoteattr(term.language)}{direction}>{_text(term.value)}</literal>"
    if term.datatype.value != XSD_STRING:
        return f"<literal datatype={quoteattr(term.datatype.value)}>{_text(term.value)}</literal>"
    return f"<literal>{_text(term.value)}</literal>"


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
