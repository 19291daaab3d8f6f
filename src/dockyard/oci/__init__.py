"""Pure data: the OCI runtime spec (config.json and state) and its validation."""

from dockyard.oci.runtime_spec import load_spec, validate_spec

__all__ = ["load_spec", "validate_spec"]
