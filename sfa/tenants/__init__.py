"""Many companies per deployment, one database each: the registry of companies, their
engines in this process, and creating and migrating their databases (docs/tenancy.md)."""
