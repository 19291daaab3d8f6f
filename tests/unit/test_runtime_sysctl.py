import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.sysctl import check_sysctls

ALL = {"ipc", "network", "uts", "mount", "pid"}


def test_namespaced_keys_are_allowed() -> None:
    check_sysctls({"net.ipv4.ip_forward": "1", "kernel.shmmax": "1", "fs.mqueue.msg_max": "9",
                   "kernel.domainname": "x"}, ALL)


@pytest.mark.parametrize("key", ["vm.swappiness", "kernel.panic", "fs.file-max"])
def test_host_wide_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidArgument, match="not in a separate kernel namespace"):
        check_sysctls({key: "1"}, ALL)


def test_a_key_needs_its_namespace() -> None:
    with pytest.raises(InvalidArgument, match="host's network namespace"):
        check_sysctls({"net.ipv4.ip_forward": "1"}, ALL - {"network"})
    with pytest.raises(InvalidArgument, match="host's ipc namespace"):
        check_sysctls({"kernel.sem": "1"}, ALL - {"ipc"})
