"""Container names: Docker's validation rule and Docker-style random ``adjective_surname``.

The word lists are dockyard's own (engineers and scientists whose work computing rests on);
the scheme is Docker's (moby ``pkg/namesgenerator`` and ``daemon/names.go``): try a bare
``adjective_surname``, then five more draws each with one random digit appended, and let the
caller fall back to the short container ID if all six are taken.
"""

from __future__ import annotations

import os
import re

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    import random
    from collections.abc import Callable

__all__ = [
    "ADJECTIVES",
    "SURNAMES",
    "VALID_NAME_CHARS",
    "generate_name",
    "random_name",
    "validate_name",
]

VALID_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
"""Docker's ``validContainerNameChars``; a name is this followed by one or more of the second
class (``^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$``), so at least two characters long."""

#: compiled on first use (by ``re``'s cache): most runs name no container
_VALID_NAME = r"[a-zA-Z0-9][a-zA-Z0-9_.-]+"

ADJECTIVES: tuple[str, ...] = (
    "agile", "amber", "ancient", "ardent", "bold", "brave", "breezy", "bright", "brisk",
    "calm", "candid", "careful", "cheerful", "clever", "cosmic", "crisp", "curious",
    "daring", "deft", "diligent", "eager", "earnest", "fearless", "fervent", "fleet",
    "frank", "gentle", "gleaming", "graceful", "hardy", "humble", "jolly", "keen", "kind",
    "lively", "lucid", "mellow", "merry", "mighty", "nimble", "noble", "patient", "placid",
    "plucky", "polished", "quick", "quiet", "radiant", "rapid", "serene", "sharp", "spry",
    "steady", "stoic", "sturdy", "sunny", "swift", "tidy", "valiant", "vivid", "wise",
    "witty", "zesty",
)

SURNAMES: tuple[str, ...] = (
    "allen", "backus", "babbage", "baran", "berners_lee", "bose", "brattain", "cerf",
    "codd", "conway", "corbato", "cray", "dennard", "diffie", "dijkstra", "eckert",
    "engelbart", "estrin", "fano", "feigenbaum", "floyd", "goldberg", "goldwasser",
    "hamming", "hellman", "hennessy", "hoare", "hollerith", "hopper", "huffman",
    "iverson", "jacobson", "kahn", "kahan", "karp", "kay", "kilby", "knuth", "lamport",
    "liskov", "lovelace", "mauchly", "mccarthy", "metcalfe", "milner", "minsky",
    "moore", "nygaard", "patterson", "perlman", "postel", "rabin", "ritchie", "rivest",
    "sammet", "shamir", "shannon", "spaerck_jones", "stonebraker", "sutherland",
    "tarjan", "thompson", "turing", "wilkes", "wirth", "zuse",
)


def validate_name(name: str) -> str:
    """Return ``name`` without its optional leading ``/``, or raise Docker's error.

    moby ``daemon/names.go``: ``Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-]
    are allowed``, quoting the name as given.
    """
    bare = name[1:] if name.startswith("/") else name
    if not re.fullmatch(_VALID_NAME, bare):
        raise InvalidArgument(
            f"Invalid container name ({name}), only {VALID_NAME_CHARS} are allowed")
    return bare


class _Urandom:
    """``choice``/``randrange`` from ``os.urandom`` (what ``random.SystemRandom`` reads),
    without importing ``random`` (~1 ms on ``run``'s path)."""

    @staticmethod
    def randrange(n: int) -> int:
        return int.from_bytes(os.urandom(8), "little") % n

    def choice(self, seq: tuple[str, ...]) -> str:
        return seq[self.randrange(len(seq))]


def random_name(retry: int = 0, rng: random.Random | None = None) -> str:
    """``adjective_surname``; from the second try on (``retry > 0``) with one random digit
    appended, as moby's ``GetRandomName(retry)`` does."""
    r = rng if rng is not None else _Urandom()
    name = f"{r.choice(ADJECTIVES)}_{r.choice(SURNAMES)}"
    if retry > 0:
        name += str(r.randrange(10))
    return name


def generate_name(in_use: Callable[[str], bool], rng: random.Random | None = None,
                  tries: int = 6) -> str | None:
    """A random name ``in_use`` says is free, or ``None`` after ``tries`` draws (the caller
    then uses the short container ID, as Docker does).

    ``in_use`` must be answered inside the same write transaction that inserts the name,
    or two creators could both pick it.
    """
    for retry in range(tries):
        name = random_name(retry, rng)
        if not in_use(name):
            return name
    return None
