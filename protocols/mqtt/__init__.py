"""MQTT connection handling shared by the MQTT source and the northbound MQTT service."""
