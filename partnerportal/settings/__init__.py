"""Settings are split by run mode: base, development, test and production."""
