"""Fast paths for the OPC UA server service (``gateway.northbound.opcua``), kept apart so each can be measured
against asyncua's own path (``bench/opcua_server.py``) and switched on with a one-line change in the service."""
