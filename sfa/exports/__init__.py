"""Incremental exports for data warehouses (docs/exports.md)."""
