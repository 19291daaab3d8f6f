"""Signal names as users and runc write them: ``KILL``, ``SIGKILL``, ``9``."""

from __future__ import annotations

import signal

from dockyard.errors import InvalidArgument


def parse_signal(text: str) -> int:
    if text.isdigit():
        num = int(text)
        if 0 < num < signal.NSIG:
            return num
    else:
        name = text.upper()
        name = name if name.startswith("SIG") else "SIG" + name
        value = getattr(signal.Signals, name, None) if name.isidentifier() else None
        if value is not None:
            return int(value)
        if name.startswith("SIGRTMIN+") or name.startswith("SIGRTMAX-"):
            base, _, off = name[3:].partition("+" if "+" in name else "-")
            if off.isdigit():
                n = (signal.SIGRTMIN + int(off) if base == "RTMIN"
                     else signal.SIGRTMAX - int(off))
                if signal.SIGRTMIN <= n <= signal.SIGRTMAX:
                    return int(n)
    raise InvalidArgument(f'unknown signal "{text}"')
