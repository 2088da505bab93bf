"""Northbound services: the faces of the twin (OPC UA server, SPARQL/REST API)."""
