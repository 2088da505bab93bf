"""The live twin: an RDF dataset (Oxigraph) of the model plus a coalescing table of live values."""
