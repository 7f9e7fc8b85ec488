"""The Intrvuer HTTP and WebSocket server."""
