"""Use cases shared by the HTTP API and the CLI; the only callers of the store besides workers."""
