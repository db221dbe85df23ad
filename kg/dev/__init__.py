"""Tools for developers, not needed to build or serve: the synthetic graph generator."""
