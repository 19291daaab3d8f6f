"""dockyard: a container engine in Python.

The package is split by concern; imports point one way:
``cli``/``api`` -> ``engine`` -> (``runtime``, ``image``, ...) -> ``oci``, ``linux``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
