"""Saved results as pandas tables (tables.load) and Parquet (export.export). Readers use saved files only."""
