"""Typed shape of the OCI runtime spec's config.json and state (runtime-spec 1.0.2/1.1).

These TypedDicts mirror the spec's JSON schema, so mypy checks every key the runtime
reads while the runtime keeps working on the parsed JSON itself. Import this module only
under ``TYPE_CHECKING``: ``typing`` costs milliseconds the runtime's start-up cannot spend.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class User(TypedDict):
    uid: int
    gid: int
    umask: NotRequired[int]
    additionalGids: NotRequired[list[int]]
    username: NotRequired[str]


class Capabilities(TypedDict, total=False):
    bounding: list[str]
    effective: list[str]
    inheritable: list[str]
    permitted: list[str]
    ambient: list[str]


class Rlimit(TypedDict):
    type: str
    soft: int
    hard: int


class ConsoleSize(TypedDict):
    height: int
    width: int


class Process(TypedDict):
    args: list[str]
    cwd: str
    user: User
    env: NotRequired[list[str]]
    terminal: NotRequired[bool]
    consoleSize: NotRequired[ConsoleSize]
    capabilities: NotRequired[Capabilities]
    rlimits: NotRequired[list[Rlimit]]
    noNewPrivileges: NotRequired[bool]
    apparmorProfile: NotRequired[str]
    oomScoreAdj: NotRequired[int]
    selinuxLabel: NotRequired[str]


class Root(TypedDict):
    path: str
    readonly: NotRequired[bool]


class Mount(TypedDict):
    destination: str
    type: NotRequired[str]
    source: NotRequired[str]
    options: NotRequired[list[str]]


class Hook(TypedDict):
    path: str
    args: NotRequired[list[str]]
    env: NotRequired[list[str]]
    timeout: NotRequired[int]


class Hooks(TypedDict, total=False):
    prestart: list[Hook]
    createRuntime: list[Hook]
    createContainer: list[Hook]
    startContainer: list[Hook]
    poststart: list[Hook]
    poststop: list[Hook]


class Namespace(TypedDict):
    type: str
    path: NotRequired[str]


class IDMapping(TypedDict):
    containerID: int
    hostID: int
    size: int


class Device(TypedDict):
    type: str
    path: str
    major: NotRequired[int]
    minor: NotRequired[int]
    fileMode: NotRequired[int]
    uid: NotRequired[int]
    gid: NotRequired[int]


class DeviceCgroup(TypedDict):
    allow: bool
    type: NotRequired[str]
    major: NotRequired[int]
    minor: NotRequired[int]
    access: NotRequired[str]


class Memory(TypedDict, total=False):
    limit: int
    reservation: int
    swap: int
    kernel: int
    kernelTCP: int
    swappiness: int
    disableOOMKiller: bool


class CPU(TypedDict, total=False):
    shares: int
    quota: int
    period: int
    realtimeRuntime: int
    realtimePeriod: int
    cpus: str
    mems: str
    idle: int


class Pids(TypedDict):
    limit: int


class WeightDevice(TypedDict):
    major: int
    minor: int
    weight: NotRequired[int]
    leafWeight: NotRequired[int]


class ThrottleDevice(TypedDict):
    major: int
    minor: int
    rate: int


class BlockIO(TypedDict, total=False):
    weight: int
    leafWeight: int
    weightDevice: list[WeightDevice]
    throttleReadBpsDevice: list[ThrottleDevice]
    throttleWriteBpsDevice: list[ThrottleDevice]
    throttleReadIOPSDevice: list[ThrottleDevice]
    throttleWriteIOPSDevice: list[ThrottleDevice]


class Resources(TypedDict, total=False):
    devices: list[DeviceCgroup]
    memory: Memory
    cpu: CPU
    pids: Pids
    blockIO: BlockIO
    unified: dict[str, str]


class SeccompArg(TypedDict):
    index: int
    value: int
    op: str
    valueTwo: NotRequired[int]


class SeccompSyscall(TypedDict):
    names: list[str]
    action: str
    errnoRet: NotRequired[int]
    args: NotRequired[list[SeccompArg]]


class Seccomp(TypedDict):
    defaultAction: str
    defaultErrnoRet: NotRequired[int]
    architectures: NotRequired[list[str]]
    flags: NotRequired[list[str]]
    listenerPath: NotRequired[str]
    listenerMetadata: NotRequired[str]
    syscalls: NotRequired[list[SeccompSyscall]]


class Linux(TypedDict, total=False):
    namespaces: list[Namespace]
    uidMappings: list[IDMapping]
    gidMappings: list[IDMapping]
    devices: list[Device]
    cgroupsPath: str
    resources: Resources
    rootfsPropagation: str
    seccomp: Seccomp
    sysctl: dict[str, str]
    maskedPaths: list[str]
    readonlyPaths: list[str]
    mountLabel: str


class Spec(TypedDict):
    ociVersion: str
    root: Root
    process: NotRequired[Process]
    hostname: NotRequired[str]
    domainname: NotRequired[str]
    mounts: NotRequired[list[Mount]]
    hooks: NotRequired[Hooks]
    annotations: NotRequired[dict[str, str]]
    linux: NotRequired[Linux]


class State(TypedDict):
    """The state the runtime reports (runtime-spec "State")."""

    ociVersion: str
    id: str
    status: str
    pid: NotRequired[int]
    bundle: str
    annotations: NotRequired[dict[str, str]]
