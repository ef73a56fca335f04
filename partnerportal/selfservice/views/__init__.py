"""The customer pages' views: thin, reading through the scoped selectors and writing through services."""
