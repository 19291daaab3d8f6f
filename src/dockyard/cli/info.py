"""``dockyard info [-f FORMAT]``: Docker's ``docker info`` text, or the info object
through a Go template (``--format '{{json .}}'``)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.main import Context

#: Docker's status for a template that does not parse.
EXIT_TEMPLATE = 64


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._args import parse
    from dockyard.engine.info import system_info
    from dockyard.errors import InvalidArgument

    try:
        flags = parse(argv, {"format": "str", "f": "=format", "help": "bool"})
        if flags.positional:
            raise InvalidArgument('"dockyard info" accepts no arguments.')
    except InvalidArgument as e:
        sys.stderr.write(f"{e}\nSee 'dockyard info --help'.\n")
        return 125
    if flags.flag("help"):
        sys.stdout.write("Usage:  dockyard info [OPTIONS]\n\nDisplay system-wide information\n")
        return 0
    fmt = flags.opt("format")
    if fmt:
        from dockyard.template import Template, TemplateError

        try:
            tmpl = Template(fmt)
        except TemplateError as e:
            sys.stderr.write(f"template parsing error: {e}\n")
            return EXIT_TEMPLATE
        try:
            sys.stdout.write(tmpl.execute(system_info(ctx.root, ctx.exec_root)) + "\n")
        except TemplateError as e:
            sys.stderr.write(f"{e}\n")
            return 1
        return 0
    sys.stdout.write(text(system_info(ctx.root, ctx.exec_root)))
    return 0


def bytes_size(n: float) -> str:
    """go-units ``BytesSize``: binary units, 4 significant digits (``23.54GiB``)."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n /= 1024.0
        i += 1
    return f"{n:.4g}{units[i]}"


def text(i: dict[str, Any]) -> str:
    """The layout of ``docker info`` (docker/cli ``prettyPrintInfo``)."""
    plugins = i["Plugins"]
    lines = [
        "Client:", f" Context:    {i['ClientInfo']['Context']}",
        f" Debug Mode: {str(i['ClientInfo']['Debug']).lower()}", "",
        "Server:",
        f" Containers: {i['Containers']}", f"  Running: {i['ContainersRunning']}",
        f"  Paused: {i['ContainersPaused']}", f"  Stopped: {i['ContainersStopped']}",
        f" Images: {i['Images']}", f" Server Version: {i['ServerVersion']}",
        f" Storage Driver: {i['Driver']}",
        *(f"  {k}: {v}" for k, v in i["DriverStatus"]),
        f" Logging Driver: {i['LoggingDriver']}",
        f" Cgroup Driver: {i['CgroupDriver']}",
        f" Cgroup Version: {i['CgroupVersion']}",
        " Plugins:", f"  Volume: {' '.join(plugins['Volume'])}",
        f"  Network: {' '.join(plugins['Network'])}",
        f"  Log: {' '.join(plugins['Log'])}",
        f" Swarm: {i['Swarm']['LocalNodeState']}",
        f" Runtimes: {' '.join(sorted(i['Runtimes']))}",
        f" Default Runtime: {i['DefaultRuntime']}",
        f" Init Binary: {i['InitBinary']}",
        f" containerd version: {i['ContainerdCommit']['ID']}",
        f" runc version: {i['RuncCommit']['ID']}",
        f" init version: {i['InitCommit']['ID']}",
        " Security Options:",
    ]
    for opt in i["SecurityOptions"]:
        kv = dict(p.split("=", 1) for p in opt.split(",") if "=" in p)
        lines.append(f"  {kv.get('name', opt)}")
        lines.extend(f"   {k.title()}: {v}" for k, v in kv.items() if k != "name")
    lines += [
        f" Kernel Version: {i['KernelVersion']}",
        f" Operating System: {i['OperatingSystem']}",
        f" OSType: {i['OSType']}",
        f" Architecture: {i['Architecture']}",
        f" CPUs: {i['NCPU']}",
        f" Total Memory: {bytes_size(i['MemTotal'])}",
        f" Name: {i['Name']}",
        f" ID: {i['ID']}",
        f" Docker Root Dir: {i['DockerRootDir']}",
        f" Debug Mode: {str(i['Debug']).lower()}",
        f" Registry: {i['IndexServerAddress']}",
        " Labels:",
        f" Experimental: {str(i['ExperimentalBuild']).lower()}",
        " Insecure Registries:",
        *(f"  {c}" for c in i["RegistryConfig"]["InsecureRegistryCIDRs"]),
        f" Live Restore Enabled: {str(i['LiveRestoreEnabled']).lower()}",
    ]
    return "\n".join(lines) + "\n\n"
