"""Protocol code shared by the adapters (southbound) and the northbound services: wire formats and session
edges that know nothing of the twin (Sparkplug B payloads, MQTT connection handling)."""
