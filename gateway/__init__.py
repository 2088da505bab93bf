"""twinbridge gateway core: mapping files, the live twin, the ingest pipeline and the CLI."""

__version__ = "0.1.0"
