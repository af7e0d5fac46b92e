"""Read-only queries shared by the API and the console.

Everything here reads what the engine has already persisted and writes nothing: the web process
never builds an engine context, calls a venue or touches trading state (a test renders every page
and calls every GET endpoint, then compares every engine-owned table).
"""
