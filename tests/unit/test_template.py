"""The Go text/template engine: each case is what Go's text/template (with Docker's
functions) prints for the same template and data."""

from __future__ import annotations

from typing import Any

import pytest

import dockyard.template as tpl
from dockyard.template import Struct, Template, TemplateError, render_rows, tabwrite

DATA: dict[str, Any] = {
    "Name": "/web",
    "Names": ["a", "b"],
    "State": {"Status": "running", "ExitCode": 0, "Running": True, "Pid": 42},
    "Config": {"Labels": {"b": "2", "a": "1"}, "Env": ["A=1", "B=2"], "Cmd": None,
               "Empty": {}},
    "Num": 3,
    "Float": 1.5,
    "Big": 1000000.0,
    "Str": "Hello World",
    "Empty": "",
    "Zero": 0,
    "Nil": None,
    "List": [1, 2, 3],
    "Nested": [{"K": "x"}, {"K": "y"}],
}


def run(src: str, data: Any = None) -> str:
    return Template(src).execute(DATA if data is None else data)


@pytest.mark.parametrize("src, want", [
    ("plain text", "plain text"),
    ("{{.Name}}", "/web"),
    ("{{.State.Status}}", "running"),
    ("{{.State.ExitCode}}", "0"),
    ("{{.State.Running}}", "true"),
    ("{{.Names}}", "[a b]"),
    ("{{.Config.Labels}}", "map[a:1 b:2]"),
    ("{{.Config.Empty}}", "map[]"),
    ("{{.Config.Env}}", "[A=1 B=2]"),
    ("{{.Config.Cmd}}", "<no value>"),
    ("{{.Missing}}", "<no value>"),
    ("{{.Missing.Deeper}}", "<no value>"),
    ("{{.Nil}}", "<no value>"),
    ("{{.Float}} {{.Big}}", "1.5 1e+06"),
    ("{{.}}", None),  # checked below: a map prints as map[...]
    ("{{json .State}}", '{"Status":"running","ExitCode":0,"Running":true,"Pid":42}'),
    ("{{json .Names}}", '["a","b"]'),
    ("{{json .Nil}}", "null"),
    ("{{json .Str}}", '"Hello World"'),
    ("{{json \"<&>\"}}", '"<&>"'),
    ("{{.Config.Labels.a}}", "1"),
    ("{{index .Config.Labels \"b\"}}", "2"),
    ("{{index .Config.Labels \"zz\"}}", "<no value>"),
    ("{{index .Names 1}}", "b"),
    ("{{index .Nested 1 | printf \"%v\"}}", "map[K:y]"),
    ("{{(index .Nested 0).K}}", "x"),
    ("{{join .Names \",\"}}", "a,b"),
    ("{{join .Config.Env \" \"}}", "A=1 B=2"),
    ("{{lower .Str}} {{upper .Str}}", "hello world HELLO WORLD"),
    ("{{title \"hello wide-world\"}}", "Hello Wide-World"),
    ("{{split \"a:b:c\" \":\"}}", "[a b c]"),
    ("{{index (split \"a:b:c\" \":\") 2}}", "c"),
    ("{{len .Names}} {{len .Str}} {{len .Config.Labels}}", "2 11 2"),
    ("{{.Names | len}}", "2"),
    ("{{.Str | lower | upper}}", "HELLO WORLD"),
    ("{{pad \"x\" 1 2}}|", " x  |"),
    ("{{truncate .Str 5}}", "Hello"),
    ("{{println .Name}}", "/web\n"),
    ("{{println \"a\" 1 true}}", "a 1 true\n"),
    ("{{print \"a\" 1 2 \"b\"}}", "a1 2b"),
    ("{{print 1 2}}", "1 2"),
    ("{{printf \"%s=%d\" .Name .Num}}", "/web=3"),
    ("{{printf \"%-6s|\" \"ab\"}}", "ab    |"),
    ("{{printf \"%5s|\" \"ab\"}}", "   ab|"),
    ("{{printf \"%03d %x %X %o %b\" 7 255 255 8 5}}", "007 ff FF 10 101"),
    ("{{printf \"%q\" \"a\\\"b\"}}", '"a\\"b"'),
    ("{{printf \"%v %t\" .Names true}}", "[a b] true"),
    ("{{printf \"%.2f %5.1f\" 3.14159 2.0}}", "3.14   2.0"),
    ("{{printf \"%d%%\" 50}}", "50%"),
    ("{{printf \"%s\"}}", "%!s(MISSING)"),
    ("{{printf \"%d\" \"x\"}}", "%!d(string=x)"),
    ("{{printf \"a\" 1}}", "a%!(EXTRA int=1)"),
    ("{{\"quoted\\tstring\"}}", "quoted\tstring"),
    ("{{`raw\\t`}}", "raw\\t"),
    ("{{'a'}}", "97"),
    ("{{1.5}} {{-2}} {{0x1F}} {{1e3}}", "1.5 -2 31 1000"),
    ("{{true}} {{false}}", "true false"),
    ("{{printf \"%v\" nil}}", "<nil>"),
])
def test_values_and_functions(src: str, want: str | None) -> None:
    if want is None:
        assert run(src).startswith("map[Big:1e+06 Config:map[Cmd:<nil> ")
        return
    assert run(src) == want


@pytest.mark.parametrize("src, want", [
    ("{{if .State.Running}}up{{end}}", "up"),
    ("{{if .Empty}}yes{{else}}no{{end}}", "no"),
    ("{{if .Zero}}yes{{else}}no{{end}}", "no"),
    ("{{if .Nil}}yes{{else}}no{{end}}", "no"),
    ("{{if .Missing}}yes{{else}}no{{end}}", "no"),
    ("{{if .Config.Empty}}yes{{else}}no{{end}}", "no"),
    ("{{if .Names}}yes{{end}}", "yes"),
    ("{{if eq .State.Status \"exited\"}}e{{else if eq .State.Status \"running\"}}r{{else}}?"
     "{{end}}", "r"),
    ("{{if eq .Num 1 2 3}}in{{end}}", "in"),
    ("{{if ne .Num 3}}x{{else}}three{{end}}", "three"),
    ("{{if and .Names .Num}}both{{end}}", "both"),
    ("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" 5}} {{or 0 \"\"}}", "0 2 5 "),
    ("{{not .Empty}} {{not .Num}}", "true false"),
    ("{{if lt 1 2}}lt{{end}}{{if le 2 2}}le{{end}}{{if gt 3 2}}gt{{end}}{{if ge 2 3}}ge{{end}}",
     "ltlegt"),
    ("{{if lt \"a\" \"b\"}}yes{{end}}", "yes"),
    ("{{if eq .Nil nil}}nil{{end}}", "nil"),
    ("{{with .State}}{{.Status}}/{{.Pid}}{{end}}", "running/42"),
    ("{{with .Empty}}x{{else}}empty{{end}}", "empty"),
    ("{{with $s := .State.Status}}{{$s}}{{end}}", "running"),
    ("{{range .Names}}[{{.}}]{{end}}", "[a][b]"),
    ("{{range $i, $n := .Names}}{{$i}}:{{$n}} {{end}}", "0:a 1:b "),
    ("{{range $n := .Names}}{{$n}}{{end}}", "ab"),
    ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "a=1;b=2;"),
    ("{{range .Config.Labels}}{{.}}{{end}}", "12"),
    ("{{range .Nested}}{{.K}}{{end}}", "xy"),
    ("{{range .Config.Empty}}x{{else}}none{{end}}", "none"),
    ("{{range .Nil}}x{{else}}none{{end}}", "none"),
    ("{{range .List}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}", "13"),
    ("{{range .List}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}", "1"),
    ("{{range .Names}}{{$.Name}}{{end}}", "/web/web"),
    ("{{$x := .Num}}{{$x}}", "3"),
    ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
    ("{{$x := 1}}{{if true}}{{$x = 5}}{{end}}{{$x}}", "5"),
    ("{{$n := len .Names}}{{if gt $n 1}}many{{end}}", "many"),
    ("{{$.State.Status}}", "running"),
    ("{{(.State).Status}}", "running"),
    ("a {{- \" b \" -}} c", "a b c"),
    ("a  {{- .Num}}  b", "a3  b"),
    ("a  {{.Num -}}  \n b", "a  3b"),
    ("{{/* a comment */}}x", "x"),
    ("a {{- /* trimmed */ -}} b", "ab"),
    ("{{range .Names -}}\n  {{.}}\n{{- end}}", "ab"),
    ("{{if\n.Num}}multi-line action{{end}}", "multi-line action"),
])
def test_control_and_variables(src: str, want: str) -> None:
    assert run(src) == want


@pytest.mark.parametrize("src, message", [
    ("{{.Name", "template: :1: unclosed action"),
    ("{{nosuch .}}", 'template: :1: function "nosuch" not defined'),
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("{{if .Name}}", "template: :1: unexpected EOF"),
    ("{{range .Names}}{{else}}{{else}}{{end}}", "template: :1: expected end; found {{else}}"),
    ("{{$nope}}", 'template: :1: undefined variable "$nope"'),
    ("{{.Name | 3}}", "template: :1: non executable command in pipeline stage 2"),
    ("{{(.Name}}", "template: :1: unclosed left paren"),
    ("{{\"open}}", "template: :1: unterminated quoted string"),
    ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ("line1\n{{.A!}}", "template: :2: unexpected bad character U+0021 '!' in command"),
])
def test_parse_errors(src: str, message: str) -> None:
    with pytest.raises(TemplateError) as e:
        Template(src)
    assert str(e.value) == message


@pytest.mark.parametrize("src, data, message", [
    ("{{index .Names 5}}", None,
     'template: :1:2: executing "" at <index .Names 5>: error calling index: '
     "index out of range: 5"),
    ("{{.Name.Sub}}", None,
     'template: :1:2: executing "" at <.Name.Sub>: can\'t evaluate field Sub in type string'),
    ("{{.Config.Cmd.X}}", None,
     'template: :1:2: executing "" at <.Config.Cmd.X>: nil pointer evaluating '
     "interface {}.X"),
    ("x{{.Foo}}", Struct("*formatter.containerContext", ID="1"),
     'template: :1:3: executing "" at <.Foo>: can\'t evaluate field Foo in type '
     "*formatter.containerContext"),
    ("{{len .Num}}", None, 'template: :1:2: executing "" at <len .Num>: error calling len: '
                           "len of type int"),
    ("{{join .Names}}", None,
     'template: :1:2: executing "" at <join>: wrong number of args for join: '
     "want 2 got 1"),
    ("{{eq .Num \"3\"}}", None,
     'template: :1:2: executing "" at <eq .Num "3">: error calling eq: '
     "incompatible types for comparison"),
    ("{{range .Str}}{{end}}", None,
     'template: :1:8: executing "" at <.Str>: range can\'t iterate over Hello World'),
    ("{{.Name 1}}", None,
     'template: :1:2: executing "" at <.Name>: Name is not a method but has arguments'),
])
def test_execution_errors(src: str, data: Any, message: str) -> None:
    with pytest.raises(TemplateError) as e:
        run(src, data)
    assert str(e.value) == message


def test_struct_methods_take_arguments() -> None:
    labels = {"com.x": "1"}
    row = Struct("ctx", Label=lambda k: labels.get(k, ""), ID="abc")
    assert Template('{{.Label "com.x"}}-{{.Label "none"}}-{{.ID}}').execute(row) == "1--abc"
    assert Template('{{"com.x" | .Label}}').execute(row) == "1"
    assert Template("{{json .}}").execute(row) == '{"ID":"abc"}'


def test_typed_nils_print_as_go_prints_nil_fields() -> None:
    data = {"Entrypoint": tpl.TypedNil("[]string"), "Volumes": tpl.TypedNil("map[string]"),
            "PidsLimit": tpl.TypedNil("*int64"), "Health": tpl.TypedNil("*types.Health")}
    out = Template("{{.Entrypoint}} {{.Volumes}} {{.PidsLimit}} {{json .Entrypoint}} "
                   "{{len .Entrypoint}} {{if .Entrypoint}}y{{else}}n{{end}} "
                   "{{range .Volumes}}x{{else}}none{{end}} {{eq .PidsLimit nil}}").execute(data)
    assert out == "[] map[] <nil> null 0 n none true"
    with pytest.raises(TemplateError, match=r"nil pointer evaluating \*types.Health.Status"):
        Template("{{.Health.Status}}").execute(data)


def test_tabwriter_matches_go() -> None:
    # tabwriter.NewWriter(out, 10, 1, 3, ' ', 0): width = max(10, widest + 3)
    assert tabwrite("CONTAINER ID\tNAMES\tSTATUS\n95f73bb4ce5a\tref2\tUp 1 second\n") == (
        "CONTAINER ID   NAMES     STATUS\n95f73bb4ce5a   ref2      Up 1 second\n")
    # a line with fewer cells ends the column block above it
    assert tabwrite("a\tb\nlong-cell-here\tc\nx\n") == (
        "a                b\nlong-cell-here   c\nx\n")
    assert tabwrite("no tabs\n") == "no tabs\n"


def test_render_rows_table_and_plain() -> None:
    rows = [Struct("c", ID="95f73bb4ce5a", Names="ref2", Status="Up 1 second"),
            Struct("c", ID="0123456789ab", Names="a-much-longer-name", Status="Created")]
    headers = {"ID": "CONTAINER ID", "Names": "NAMES", "Status": "STATUS"}
    assert render_rows("table {{.ID}}\\t{{.Names}}\\t{{.Status}}", rows, headers) == (
        "CONTAINER ID   NAMES                STATUS\n"
        "95f73bb4ce5a   ref2                 Up 1 second\n"
        "0123456789ab   a-much-longer-name   Created\n")
    assert render_rows("{{.Names}}", rows, headers) == "ref2\na-much-longer-name\n"
    assert render_rows("{{.ID}}: {{.Names}}\\n", rows[:1], headers) == "95f73bb4ce5a: ref2\n\n"
    # the header row passes through Docker's header functions; a table of nothing
    # still has its header
    assert render_rows("table {{lower .Names}}\\t{{json .ID}}", [], headers) == (
        "NAMES     CONTAINER ID\n")
    with pytest.raises(TemplateError, match=r"^template parsing error: template: :1: "):
        render_rows("{{.ID", rows, headers)


def test_public_surface() -> None:
    assert sorted(tpl.__all__) == sorted( ["MISSING", "Struct", "Template", "TemplateError",
                                   "go_str", "is_table", "prepare", "render_rows",
                                   "tabwrite", "TypedNil"])


def _go_cases() -> list[dict[str, str]]:
    import json
    from pathlib import Path

    path = Path(__file__).parent / "data" / "go_template_cases.json"
    cases: list[dict[str, str]] = json.loads(path.read_text())["cases"]
    return cases


@pytest.mark.parametrize("case", _go_cases(), ids=lambda c: c["format"][:40])
def test_same_output_as_docker_cli(case: dict[str, str]) -> None:
    """Each case was run through ``docker context ls --format`` (Go's text/template with
    Docker's functions, see the data file's ``source``); dockyard prints the same."""
    ctx = Struct("*formatter.clientContextContext", Name="default",
                 Description="Current DOCKER_HOST based configuration",
                 DockerEndpoint="unix:///var/run/docker.sock", Current=True, Error="")
    if "error" in case:
        with pytest.raises(TemplateError) as e:
            render_rows(case["format"], [ctx], {})
        assert str(e.value).strip() == case["error"]  # the recorded stderr was stripped
    else:
        assert render_rows(case["format"], [ctx], {}) == case["stdout"]
