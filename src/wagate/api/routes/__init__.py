"""One module per API resource, each exporting its ``router``."""
