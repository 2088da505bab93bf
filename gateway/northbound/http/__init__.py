"""The HTTP face of the twin: SPARQL 1.1 Protocol, REST, server-sent events and Prometheus metrics."""
