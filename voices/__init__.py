"""Speech I/O adapters: speech recognition and synthesis, audio utilities."""
