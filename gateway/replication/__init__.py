"""Replication: each gateway mirrors its twin into named graphs of its own in a shared SPARQL store."""
