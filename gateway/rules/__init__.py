"""What the mapping says about analytics, as plain data: derived points, alarm rules, anomaly detectors.

A low layer (below the config loader, which builds these; above units and the model): the expression language
(parser, unit checker and compiler) and the rule specs. The running engine is ``gateway.analytics``.
"""
