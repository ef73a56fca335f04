"""The production image, checked without a Docker engine: `make image-check` (check.py) and its parts."""
