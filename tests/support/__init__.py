"""Test helpers: throwaway PostgreSQL, Docker availability probe."""
