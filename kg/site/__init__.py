"""What people and linked-data clients see: descriptions, pages, the catalogue, ontology docs, examples."""
