"""Docker's variable substitution in Dockerfile words (moby ``frontend/dockerfile/shell``).

``expand_word`` keeps a word whole (WORKDIR, USER, ENV values); ``expand_words`` also
splits on blanks outside quotes (EXPOSE, and a variable's unquoted value). Rules:

* ``'...'`` is literal; ``"..."`` expands ``$``; the quotes themselves are removed;
* the escape character (``\\`` or the ``# escape=`` one) makes the next character
  literal; inside double quotes only before ``"``, ``$`` and itself (else it stays);
* ``$NAME``, ``${NAME}``, ``${NAME:-word}`` (unset or empty -> word),
  ``${NAME-word}`` (unset -> word), ``${NAME:+word}`` / ``${NAME+word}`` (set -> word),
  ``${NAME:?msg}`` / ``${NAME?msg}`` (an error when unset); an unset name is empty.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["expand_word", "expand_words"]


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.s = text
        self.i = 0
        self.env = env
        self.esc = escape
        self.words: list[str] = []
        self.cur: list[str] = []
        self.in_word = False

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def next(self) -> str:
        ch = self.peek()
        self.i += 1
        return ch

    # word assembly (only used when splitting)
    def raw(self, text: str) -> None:
        self.cur.append(text)
        self.in_word = True

    def split_value(self, value: str) -> None:
        """An unquoted variable's value: its blanks separate words."""
        for ch in value:
            if ch in " \t\n":
                self.end_word()
            else:
                self.raw(ch)

    def end_word(self) -> None:
        if self.in_word:
            self.words.append("".join(self.cur))
        self.cur = []
        self.in_word = False

    def run(self, split: bool, stop: str = "") -> str:
        """Process until ``stop`` (a ``}`` in a ``${...:-word}``) or the end."""
        out: list[str] = []

        def emit(text: str, from_var: bool = False) -> None:
            if split:
                if from_var:
                    self.split_value(text)
                else:
                    self.raw(text)
            else:
                out.append(text)

        while self.i < len(self.s):
            ch = self.peek()
            if stop and ch == stop:
                break
            if ch == self.esc:
                self.next()
                nxt = self.next()
                emit(nxt)
            elif ch == "'":
                self.next()
                start = self.i
                end = self.s.find("'", start)
                if end < 0:
                    raise InvalidArgument("unexpected end of statement while looking for "
                                          "matching single-quote")
                self.i = end + 1
                emit(self.s[start:end])
                if split:
                    self.in_word = True
            elif ch == '"':
                self.next()
                emit(self._double_quoted())
                if split:
                    self.in_word = True
            elif ch == "$":
                emit(self._dollar(), from_var=True)
            elif split and ch in " \t\n":
                self.next()
                self.end_word()
            else:
                self.next()
                emit(ch)
        return "".join(out)

    def _double_quoted(self) -> str:
        out: list[str] = []
        while True:
            if self.i >= len(self.s):
                raise InvalidArgument("unexpected end of statement while looking for "
                                      "matching double-quote")
            ch = self.next()
            if ch == '"':
                return "".join(out)
            if ch == self.esc:
                nxt = self.peek()
                if nxt in ('"', "$", self.esc) and nxt:
                    out.append(self.next())
                else:
                    out.append(ch)
            elif ch == "$":
                self.i -= 1
                out.append(self._dollar())
            else:
                out.append(ch)

    def _name(self) -> str:
        start = self.i
        while self.i < len(self.s) and (self.s[self.i].isalnum() or self.s[self.i] == "_"):
            self.i += 1
        return self.s[start:self.i]

    def _dollar(self) -> str:
        self.next()  # $
        if self.peek() != "{":
            name = self._name()
            if not name:
                return "$"
            return self.env.get(name, "")
        self.next()  # {
        name = self._name()
        if not name:
            raise InvalidArgument(f"bad substitution in {self.s!r}")
        ch = self.next()
        if ch == "}":
            return self.env.get(name, "")
        colon = ch == ":"
        if colon:
            ch = self.next()
        if ch not in "-+?" or not ch:
            raise InvalidArgument(f"unsupported modifier ({ch}) in substitution: {self.s!r}")
        sub = _Lexer(self.s, self.env, self.esc)
        sub.i = self.i
        word = sub.run(False, stop="}")
        if sub.peek() != "}":
            raise InvalidArgument(f"missing '}}' in substitution: {self.s!r}")
        self.i = sub.i + 1
        value = self.env.get(name)
        is_set = value is not None and (value != "" or not colon)
        if ch == "-":
            return value if is_set and value is not None else word
        if ch == "+":
            return word if is_set else ""
        if not is_set or value is None:
            raise InvalidArgument(f"{name}: {word or 'is not allowed to be unset'}")
        return value


def expand_word(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """One word, quotes removed and variables replaced; blanks are kept."""
    return _Lexer(word, env, escape).run(False)


def expand_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Words split on blanks outside quotes, then expanded."""
    lx = _Lexer(text, env, escape)
    lx.run(True)
    lx.end_word()
    return lx.words
