"""The worker: claims due jobs from the database queue and runs their services."""
