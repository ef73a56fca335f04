"""Tests of the CI scripts under .ci/."""
