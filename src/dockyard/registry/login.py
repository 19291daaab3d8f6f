"""``login`` / ``logout``: verify credentials against a registry, keep them in config.json."""

from __future__ import annotations

import re

from dockyard.errors import InvalidArgument
from dockyard.registry._ref import DEFAULT_DOMAIN, DOCKER_API_HOST, validate_host
from dockyard.registry.auth import (
    DOCKER_HUB_AUTH_KEY,
    Credentials,
    remove_credentials,
    store_credentials,
)
from dockyard.registry.client import RegistryClient

__all__ = ["display_name", "login", "logout", "server_host"]


def server_host(server: str | None) -> str:
    """``dockyard login [SERVER]``'s argument -> host[:port] (default ``docker.io``)."""
    if not server:
        return DEFAULT_DOMAIN
    host = validate_host(re.sub(r"^[a-zA-Z]+://", "", server.strip()).split("/", 1)[0].lower())
    if host in ("index.docker.io", DOCKER_API_HOST):
        return DEFAULT_DOMAIN
    return host


def display_name(host: str) -> str:
    """How Docker names a server in its messages: Docker Hub by its legacy address."""
    return DOCKER_HUB_AUTH_KEY if host == DEFAULT_DOMAIN else host


def login(server: str | None, username: str, password: str, *,
          config_dir: str | None = None, insecure: bool = False) -> str:
    """Check ``username``/``password`` with ``GET /v2/`` on the registry (fetching a token
    if it asks for Bearer), then store them. Returns the path of config.json written."""
    if not username:
        raise InvalidArgument("username is empty")
    if not password:
        raise InvalidArgument("password is empty")
    host = server_host(server)
    creds = Credentials(username, password)
    api_host = DOCKER_API_HOST if host == DEFAULT_DOMAIN else host
    RegistryClient(api_host, insecure=insecure, credentials=creds).ping()
    return store_credentials(host, creds, config_dir)


def logout(server: str | None, *, config_dir: str | None = None) -> bool:
    """Forget the credentials for ``server``; ``False`` if none were stored."""
    return remove_credentials(server_host(server), config_dir)
