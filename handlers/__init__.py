"""FastStream entry points: thin subscribers that translate a record and delegate."""
