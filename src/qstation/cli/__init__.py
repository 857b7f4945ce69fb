"""The ``qstation`` command line: serve, worker and user administration."""
