"""Pure file formats: Intake catalogs, the YAML catalog format, and the table summaries
(CSV, TSV, Parquet schemas and row counts) ``eos diff`` compares."""
