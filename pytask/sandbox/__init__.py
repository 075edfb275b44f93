"""The local Azure cloud used by the tests and the demo. Never needed in a pipeline."""
