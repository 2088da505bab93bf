"""A small simulated plant for `twinbridge demo`: a Modbus PLC, an OPC UA machine and MQTT room sensors."""
