"""The one gateway to the kernel: ctypes calls wrapped once, errno turned into
:class:`SyscallError` carrying the call and the path (STYLE rule 1).

Submodules: ``mount`` (mount/umount2/pivot_root), ``namespaces`` (unshare/setns/
sethostname), ``process`` (prctl, capabilities, close_range, pidfds, keyctl),
``fs`` (openat2 confined to a root).
"""

from dockyard.linux.errors import SyscallError

__all__ = ["SyscallError"]
