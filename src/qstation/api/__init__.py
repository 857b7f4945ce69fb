"""HTTP machine API v1 (and our extensions), with the one error-to-response mapping."""
