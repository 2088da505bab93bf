"""Helpers for the northbound OPC UA server (the service itself is gateway.northbound.opcua)."""
