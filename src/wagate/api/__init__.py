"""The HTTP API: FastAPI routes, wire schemas, and the wiring of a gateway process."""
