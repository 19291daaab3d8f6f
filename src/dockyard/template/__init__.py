"""Go ``text/template``, as Docker's ``--format`` uses it: a pure package (stdlib only),
imported lazily by the verbs that format output.

    Template("{{range .Names}}{{.}} {{end}}").execute({"Names": ["a", "b"]})
    render_rows("table {{.ID}}\\t{{.Names}}", rows, {"ID": "CONTAINER ID"})
"""

from dockyard.template.exec import Struct, Template
from dockyard.template.format import is_table, prepare, render_rows, tabwrite
from dockyard.template.funcs import MISSING, TypedNil, go_str
from dockyard.template.parse import TemplateError

__all__ = [
    "MISSING",
    "Struct",
    "Template",
    "TemplateError",
    "TypedNil",
    "go_str",
    "is_table",
    "prepare",
    "render_rows",
    "tabwrite",
]
