"""``dockyard version [-f FORMAT]``: Docker's Client/Server layout, or the version object
through a Go template (``--format '{{.Server.Version}}'``)."""

from __future__ import annotations

import sys

#: ``typing`` is not imported at run time: it costs milliseconds on the start path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.main import Context

#: Docker's status for a template that does not parse.
EXIT_TEMPLATE = 64


def run(ctx: Context, argv: list[str]) -> int:
    from dockyard.cli._args import parse
    from dockyard.engine.info import version_info
    from dockyard.errors import InvalidArgument

    try:
        flags = parse(argv, {"format": "str", "f": "=format", "help": "bool", "h": "=help"})
        if flags.positional:
            raise InvalidArgument('"dockyard version" accepts no arguments.')
    except InvalidArgument as e:
        sys.stderr.write(f"{e}\nSee 'dockyard version --help'.\n")
        return 125
    if flags.flag("help"):
        sys.stdout.write("Usage:  dockyard version [OPTIONS]\n\n"
                         "Show the dockyard version information\n")
        return 0
    info = version_info()
    fmt = flags.opt("format")
    if not fmt:
        sys.stdout.write(text(info))
        return 0
    from dockyard.template import Template, TemplateError

    try:
        tmpl = Template(fmt, name="version")
    except TemplateError as e:
        sys.stderr.write(f"template parsing error: {e}\n")
        return EXIT_TEMPLATE
    try:
        sys.stdout.write(tmpl.execute(info) + "\n")
    except TemplateError as e:
        sys.stderr.write(f"{e}\n")
        return 1
    return 0


def text(v: dict[str, Any]) -> str:
    """docker/cli's ``versionTemplate``."""
    c = v["Client"]
    out = [
        "Client: dockyard",
        f" Version:           {c['Version']}",
        f" API version:       {c['ApiVersion']}",
        f" Python version:    {c['GoVersion'].removeprefix('python')}",
        f" Git commit:        {c['GitCommit']}",
        f" Built:             {c['BuildTime']}",
        f" OS/Arch:           {c['Os']}/{c['Arch']}",
        f" Context:           {c['Context']}",
        f" Experimental:      {str(c['Experimental']).lower()}",
    ]
    s = v.get("Server")
    if s:
        out += ["", f"Server: {s['Platform']['Name']}"]
        for comp in s["Components"]:
            d = comp["Details"]
            out.append(f" {comp['Name']}:")
            out.append(f"  Version:          {comp['Version']}")
            if comp["Name"] == "Engine":
                out += [
                    f"  API version:      {d['ApiVersion']} (minimum version "
                    f"{d['MinAPIVersion']})",
                    f"  Python version:   {d['GoVersion'].removeprefix('python')}",
                    f"  Git commit:       {d['GitCommit']}",
                    f"  Built:            {d['BuildTime']}",
                    f"  OS/Arch:          {d['Os']}/{d['Arch']}",
                    f"  Experimental:     {d['Experimental']}",
                ]
            else:
                out.extend(f"  {k + ':':<18}{x}" for k, x in d.items())
    return "\n".join(out) + "\n"
