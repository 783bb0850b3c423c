"""Use cases. Each public function owns its transaction; routes and workers stay thin."""
