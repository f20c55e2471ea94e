"""Catalog files other tools read and write: Intake catalogs and the YAML catalog format."""
