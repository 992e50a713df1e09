"""The mobile app's offline sync (docs/sync.md): everything a rep's phone keeps, as
changes since a cursor."""
