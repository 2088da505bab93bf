"""The MQTT adapter: topic rules, JSON/plain payloads, Sparkplug B, TLS, persistent sessions, commands."""
