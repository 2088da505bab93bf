"""The historian: every point's past, recorded from the twin's events and read by the northbound services."""
