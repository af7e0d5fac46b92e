"""`manage.py replay`: recorded signals against historical candles, through the real engine, on a
throw-away database (see docs/replay.md)."""
