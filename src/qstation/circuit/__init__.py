"""Internal program form, gate table and program-level transformations."""
