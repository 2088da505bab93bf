"""Modbus adapter: TCP, RTU over a serial line and RTU framed over TCP, on pymodbus.

Layers: ``config`` (mapping models), ``codec`` (pure register <-> value functions), ``blocks`` (coalescing
point reads into requests), ``transport`` (one shared, serialized connection per endpoint) and ``adapter``
(polling, fault reporting, write-back).
"""
