"""The OPC UA face of the twin: the asset hierarchy as a browsable, typed, secure, writable address space."""
