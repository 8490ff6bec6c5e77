"""Helpers shared by the tests: local servers, sync/async modes, docs examples."""
