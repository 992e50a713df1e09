"""Signed webhooks (Standard Webhooks) from the domain event stream (docs/webhooks.md)."""
