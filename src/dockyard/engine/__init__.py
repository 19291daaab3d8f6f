"""The engine: wires the stores together; the library API the CLI and the API call."""

__all__: list[str] = []
