"""A shared SPARQL 1.1 store: its settings, the graphs a gateway owns there, a protocol client (docs/scale-out.md)."""
