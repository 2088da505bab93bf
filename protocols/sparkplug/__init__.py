"""Sparkplug B wire format: the protobuf schema, topics, datatypes, payload encoding and decoding."""
