"""A protocol adapter living in the test folder: proof that a new kind needs no core file (see test_plugin_adapter)."""
