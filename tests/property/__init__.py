"""Property tests: the command path's invariants over generated streams."""
