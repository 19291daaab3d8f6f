"""The Dockerfile parser, Docker's substitution and .dockerignore patterns."""

from __future__ import annotations

import pytest

from dockyard.build.dockerignore import IgnoreMatcher, read_patterns
from dockyard.build.parser import DockerfileError, parse
from dockyard.build.shell import expand_word, expand_words
from dockyard.errors import InvalidArgument

ENV = {"A": "a", "EMPTY": "", "SP": "x  y", "PATH": "/bin"}


@pytest.mark.parametrize(("word", "want"), [
    ("$A", "a"), ("${A}", "a"), ("pre${A}post", "preapost"), ("$Ab", ""),
    ("${NOPE:-w}", "w"), ("${EMPTY:-w}", "w"), ("${EMPTY-w}", ""), ("${NOPE-w}", "w"),
    ("${A:-w}", "a"), ("${A:+w}", "w"), ("${NOPE:+w}", ""), ("${EMPTY:+w}", ""),
    ("${EMPTY+w}", "w"), ("${NOPE:-$A}", "a"), (r"\$A", "$A"), ("'$A'", "$A"),
    ('"$A"', "a"), (r'"\$A"', "$A"), (r'"\x"', r"\x"), ("$", "$"), ("a$", "a$"),
    ("$1", ""), ("${PATH}:/usr/bin", "/bin:/usr/bin"), ('"a b"', "a b"), ("a\\ b", "a b"),
])
def test_expand_word(word: str, want: str) -> None:
    assert expand_word(word, ENV) == want


def test_expand_words_splits_outside_quotes() -> None:
    assert expand_words('a "b c" $SP \'d e\'', ENV) == ["a", "b c", "x", "y", "d e"]
    assert expand_words('"$SP"', ENV) == ["x  y"]
    assert expand_words("", ENV) == []


def test_expand_errors() -> None:
    with pytest.raises(InvalidArgument, match="unsupported modifier"):
        expand_word("${A:=x}", ENV)
    with pytest.raises(InvalidArgument, match="NOPE: must be set"):
        expand_word("${NOPE:?must be set}", ENV)
    with pytest.raises(InvalidArgument, match="matching double-quote"):
        expand_word('"abc', ENV)


def test_backtick_escape() -> None:
    assert expand_word("`$A", ENV, escape="`") == "$A"
    assert expand_word("c:\\dir", ENV, escape="`") == "c:\\dir"


CORPUS = """\
# syntax=docker/dockerfile:1
# escape=\\
ARG BASE=busybox
FROM ${BASE} AS build
# a comment
LABEL a=1 "b"="two words" \\
      c=3
ENV X=1 Y="a b"
ENV LEGACY some value here
RUN echo one \\
  # a comment inside a continuation
  && echo two

RUN ["echo", "exec"]
RUN --network=none true
COPY --from=build --chown=1:2 --chmod=644 a b /dst/
ADD ["a b", "/x"]
WORKDIR /app
USER nobody:nogroup
EXPOSE 80 443/udp
VOLUME ["/data"]
VOLUME /a /b
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --retries=3 CMD true
HEALTHCHECK NONE
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo hi
MAINTAINER someone
CMD ["sh"]
ENTRYPOINT echo hi
ARG V1 V2=two
RUN <<EOF
echo heredoc
EOF
COPY <<-"END" /f
	keep $X
	END
"""


def test_corpus_covers_every_instruction() -> None:
    df = parse(CORPUS)
    assert df.syntax == "docker/dockerfile:1"
    cmds = [i.cmd for i in df.instructions]
    for c in ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM",
              "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL",
              "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"):
        assert c in cmds
    by_line = {i.line: i for i in df.instructions}
    assert by_line[3].args == ["BASE", "busybox"]
    assert by_line[4].args == ["${BASE}", "AS", "build"]
    assert by_line[6].args == ["a", "1", '"b"', '"two words"', "c", "3"]
    assert by_line[8].args == ["X", "1", "Y", '"a b"']
    assert by_line[9].args == ["LEGACY", "some value here"]
    assert by_line[10].args == ["echo one   && echo two"]
    assert by_line[14].json_form and by_line[14].args == ["echo", "exec"]
    assert by_line[15].flags == {"network": "none"}
    assert by_line[16].flags == {"from": "build", "chown": "1:2", "chmod": "644"}
    assert by_line[16].args == ["a", "b", "/dst/"]
    assert by_line[17].args == ["a b", "/x"]
    assert by_line[24].flags == {"interval": "5s", "retries": "3"}
    assert by_line[27].sub is not None and by_line[27].sub.cmd == "RUN"
    assert by_line[31].args == ["V1", "\0", "V2", "two"]
    run = by_line[32]
    assert run.heredocs[0].content == "echo heredoc\n" and run.heredocs[0].expand
    cp = by_line[35]
    assert cp.heredocs[0].content == "keep $X\n" and not cp.heredocs[0].expand
    assert cp.args == ['<<-"END"', "/f"]


def test_escape_directive_backtick() -> None:
    df = parse("# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo\n")
    assert df.escape == "`"
    assert df.instructions[1].args == ["dir c:\\   && echo"]


def test_directive_after_instruction_is_a_comment() -> None:
    df = parse("FROM x\n# escape=`\nRUN a \\\n b\n")
    assert df.escape == "\\" and df.instructions[1].args == ["a  b"]


@pytest.mark.parametrize(("text", "msg"), [
    ("FROM x\nFOO bar\n", "line 2 (Dockerfile): unknown instruction: FOO"),
    ("FROM\n", "FROM requires either one or three arguments"),
    ("FROM a b\n", "FROM requires either one or three arguments"),
    ("FROM x\nCOPY a\n", "line 2 (Dockerfile): COPY requires at least two arguments"),
    ("FROM x\nENV A\n", "ENV must have two arguments"),
    ("FROM x\nWORKDIR\n", "WORKDIR requires exactly one argument"),
    ("FROM x\nLABEL a\n", "can't find = in"),
    ("FROM x\nSHELL sh -c\n", "SHELL requires the arguments to be in JSON form"),
    ("FROM x\nCOPY --frm=a b c\n", "unknown flag: frm"),
    ("FROM x\nONBUILD FROM y\n", "isn't allowed as an ONBUILD trigger"),
    ("FROM x\nRUN <<EOF\necho\n", "unterminated heredoc EOF"),
])
def test_errors_name_the_line(text: str, msg: str) -> None:
    with pytest.raises(DockerfileError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


def test_crlf_and_lowercase() -> None:
    df = parse("from x\r\nrun echo hi\r\n")
    assert [i.cmd for i in df.instructions] == ["FROM", "RUN"]
    assert df.instructions[1].args == ["echo hi"]


def test_exec_form_falls_back_to_shell_on_bad_json() -> None:
    df = parse("FROM x\nCMD [not json\n")
    assert not df.instructions[1].json_form and df.instructions[1].args == ["[not json"]


# --- .dockerignore ---------------------------------------------------------------

def _m(text: str) -> IgnoreMatcher:
    return IgnoreMatcher(read_patterns(text))


def test_ignore_basics() -> None:
    m = _m("# comment\n\n*.log\n/build\ntmp?\n")
    assert m.excluded("a.log") and not m.excluded("d/a.log")
    assert m.excluded("build") and m.excluded("build/x/y")
    assert m.excluded("tmp1") and not m.excluded("tmp12")
    assert not m.excluded("src/main.py")


def test_ignore_doublestar_and_exceptions_in_order() -> None:
    m = _m("**/*.pyc\ndocs\n!docs/keep.md\n")
    assert m.excluded("a.pyc") and m.excluded("x/y/z.pyc")
    assert m.excluded("docs/other.md") and not m.excluded("docs/keep.md")
    assert m.may_include_under("docs")
    m2 = _m("!docs/keep.md\ndocs\n")  # the later pattern wins
    assert m2.excluded("docs/keep.md")


def test_ignore_everything_but() -> None:
    m = _m("*\n!src\n!Dockerfile\n")
    assert m.excluded("README") and not m.excluded("src/a/b") and not m.excluded("Dockerfile")


def test_ignore_cleaning_and_classes() -> None:
    assert read_patterns("./a//b/\n/c\n! d\n") == ["a/b", "c", "!d"]
    m = _m("file[0-9]\nx/**\n")
    assert m.excluded("file3") and not m.excluded("filex")
    assert m.excluded("x/a/b") and not m.excluded("y/x")


def test_build_public_api() -> None:
    import dockyard.build

    assert sorted(dockyard.build.__all__) == [
        "BuildError", "BuildOptions", "Builder", "RunProcess", "StepRunner", "parse"]
    for name in dockyard.build.__all__:
        assert hasattr(dockyard.build, name)
