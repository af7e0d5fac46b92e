"""The engine loop: the only writer of trading state. Everything here is called from one thread."""
