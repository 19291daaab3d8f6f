"""The engine: wires the image, runtime, network and volume stores together (the library API)."""

__all__: list[str] = []
