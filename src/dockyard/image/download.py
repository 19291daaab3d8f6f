"""Download a URL to a temporary file (``docker import URL``).

Docker's daemon fetches an ``http://`` or ``https://`` source with a plain GET
(moby ``builder/remotecontext.GetWithStatusError``), failing on a status >= 400 with
``failed to GET <url> with status <status>``. HTTPS verifies against the system CAs.
"""

from __future__ import annotations

import http.client
import shutil
import ssl
import tempfile
import urllib.error
import urllib.request
from typing import BinaryIO, cast

from dockyard.errors import InvalidArgument, NotFound, Unavailable

__all__ = ["download", "is_url"]

_TIMEOUT = 60.0


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def download(url: str, tmp_dir: str) -> BinaryIO:
    """GET ``url`` into an anonymous temporary file under ``tmp_dir`` (gone once closed),
    rewound to its start."""
    ctx = ssl.create_default_context()
    tmp = tempfile.TemporaryFile(dir=tmp_dir)  # noqa: SIM115 - the caller closes it
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT, context=ctx) as resp:
            shutil.copyfileobj(resp, tmp, 1 << 20)
    except urllib.error.HTTPError as e:
        tmp.close()
        status = f"{e.code} {e.reason}"
        err = NotFound if e.code == 404 else Unavailable
        raise err(f"failed to GET {url} with status {status}") from e
    except urllib.error.URLError as e:
        tmp.close()
        reason = e.reason.strerror if isinstance(e.reason, OSError) and e.reason.strerror \
            else str(e.reason)
        raise Unavailable(f'Get "{url}": {reason}') from e
    except (OSError, http.client.HTTPException, ValueError) as e:
        tmp.close()
        if isinstance(e, ValueError):
            raise InvalidArgument(f"invalid URL {url!r}: {e}") from e
        raise Unavailable(f'Get "{url}": {e}') from e
    except BaseException:
        tmp.close()
        raise
    tmp.seek(0)
    return cast(BinaryIO, tmp)
