"""Which ``linux.sysctl`` keys a container may set: only those its own namespaces scope.

A key the kernel does not namespace (``vm.swappiness``, ``kernel.panic``...) would change
the host, so it is refused, as runc refuses it (``validate.sysctl``): ipc keys need an
ipc namespace, ``net.*`` a network namespace, uts keys a uts namespace.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument

#: ipc_namespaces(7): the System V IPC and POSIX message queue limits.
IPC_KEYS = frozenset({"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                      "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                      "kernel.shm_rmid_forced"})
UTS_KEYS = frozenset({"kernel.domainname", "kernel.hostname"})


def check_sysctls(sysctls: dict[str, str], namespaces: set[str]) -> None:
    """Raise InvalidArgument for the first key the container's namespaces do not scope."""
    for key in sysctls:
        if key in IPC_KEYS or key.startswith("fs.mqueue."):
            needed = "ipc"
        elif key.startswith("net."):
            needed = "network"
        elif key in UTS_KEYS:
            needed = "uts"
        else:
            raise InvalidArgument(f'sysctl "{key}" is not in a separate kernel namespace')
        if needed not in namespaces:
            raise InvalidArgument(f'sysctl "{key}" is not allowed in the host\'s {needed} '
                                  "namespace")
