"""SPARQL over a snapshot: the request guard, workers, the protocol's decisions, result formats, metrics."""
