"""Partnerlink: CSP partner-relationship commands in, state, events and emails out."""
