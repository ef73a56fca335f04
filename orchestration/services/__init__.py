"""Workflows: every entry point (admin, API, commands, tasks) calls these and nothing lower."""
