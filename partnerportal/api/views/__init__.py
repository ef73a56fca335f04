"""REST API v1 views: thin, they validate, read through selectors and write through services."""
