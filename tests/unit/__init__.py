"""Unit tests: the domain, the use cases through the command bus on in-memory fakes, layering."""
