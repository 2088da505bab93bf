"""The OPC UA client adapter (``kind: opcua``): secure sessions, subscriptions or polling, write-back, discovery."""
