"""The Textual review app and its widgets (imported only by `evaltui` when the app opens)."""
