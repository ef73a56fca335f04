"""The REST API for automation: the partner's gateway, broker and pipelines."""
