"""The northbound MQTT service: the twin published as a Unified Namespace (JSON) and as a Sparkplug B edge node,
with store-and-forward while a broker (or the Sparkplug primary host) is away. docs/mqtt-north.md."""
