"""The OCI runtime: turns a bundle (config.json + rootfs) into a caged process.

One module per lifecycle operation (``create``, ``start``, ``kill``, ``delete``, ``exec``),
guarded by :class:`~dockyard.runtime.state.Status`. The runtime imports only ``oci`` and
``linux``; it never knows about images, registries or networks.
"""

__all__: list[str] = []
