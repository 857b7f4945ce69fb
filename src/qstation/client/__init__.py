"""qstation's own client: a session with a stored login (``credentials``, ``session``), used by
the job commands of the CLI."""
