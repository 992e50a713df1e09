"""One module per console page (or group of pages); see api/console/nav.py."""
