"""jinja2 templates of the generated documents: ``report.html.j2`` (``curate report``) and ``card.md.j2``
(the dataset card body of ``curate publish``).

One environment: templates whose name ends in ``.html.j2`` are autoescaped (every value is HTML-escaped
unless marked safe), Markdown ones are not (escaping would corrupt their code blocks); an undefined name
is an error, not an empty string.
"""

from __future__ import annotations

from functools import cache

from curate.extras import require


@cache
def _environment(extra: str):
    jinja2 = require(extra, "jinja2")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("curate", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["thousands"] = lambda n: f"{n:,}"
    return env


def render(template: str, extra: str, /, **context) -> str:
    """``template`` rendered with ``context``; ``extra`` is the extra that brings jinja2 for the caller."""
    return _environment(extra).get_template(template).render(**context)
