"""The analytics room: derived points, alarms and anomaly detection, fed by the twin's applied states.

Built by the runtime like history (``service.Analytics``); northbound services reach the alarms through
``model.alarms_of(view)`` only. Specs come from ``gateway.rules`` (what the mapping says).
"""
