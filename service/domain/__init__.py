"""The rules of the CSP partner-relationship domain: pure, no I/O, no framework.

This package imports only the standard library (a test enforces it). Rule ids
(RR-3, IR-8, ...) refer to ``docs/domain.md``.
"""
