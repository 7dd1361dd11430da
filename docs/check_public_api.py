"""Check the built HTML docs for private names: ``python docs/check_public_api.py [HTML_DIR]``.

Fails (exit 1, one line per problem) when

* an API page documents an object whose dotted path has a component starting with ``_``;
* a summary table (autosummary) lists a name starting with ``_`` (private or dunder methods);
* a page links to a private module's API page or anchor (``quboclf._qubo...``).

A cross-reference role that names a private object (``:class:`quboclf._x.Y```) renders as
unlinked code; those are listed as notes, without failing, so that they can be rewritten.

The "[source]" links into ``_modules/`` (the highlighted source code) are allowed. Run after
``python -m sphinx -b html docs docs/_build/html``; CI does.
"""

import os
import re
import sys
from html.parser import HTMLParser

SKIP_DIRS = ("_modules", "_sources", "_static", "_images", "_downloads")
PRIVATE = re.compile(r"(^|[.#/])quboclf(\.[A-Za-z0-9]\w*)*\._\w")


def _private_path(dotted):
    return any(part.startswith("_") for part in dotted.split(".") if part)


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems = []
        self.notes = []
        self._stack = []  # (tag, classes) of open elements
        self._cell = None  # text of the first cell of an autosummary row
        self._xref = None

    def _within(self, tag, cls):
        return any(t == tag and cls in c for t, c in self._stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "a" and "href" in attrs:
            href = attrs["href"]
            source = re.search(r"(^|/)_modules/", href)  # "[source]" links
            if not href.startswith(("http:", "https:", "mailto:")) and not source:
                if PRIVATE.search(href):
                    self.problems.append(f"links to a private name: {href}")
        if tag == "td" and self._within("table", "autosummary") and self._first_cell():
            self._cell = ""
        if tag == "code" and "xref" in classes:
            self._xref = ""
        if tag not in ("br", "img", "meta", "link", "input", "hr"):
            self._stack.append((tag, classes))

    def _first_cell(self):
        # the <td> opens right after its <tr>
        return bool(self._stack) and self._stack[-1][0] == "tr"

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            name = self._cell.strip().split("(")[0].strip()
            if name.split(".")[-1].startswith("_"):
                self.problems.append(f"summary table lists a private name: {name}")
            self._cell = None
        if tag == "code" and self._xref is not None:
            if PRIVATE.search(self._xref.strip()) or self._xref.strip().startswith("quboclf._"):
                self.notes.append(f"names a private object: {self._xref.strip()}")
            self._xref = None
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._xref is not None:
            self._xref += data


def check(html_dir, notes=None):
    """Problems found in the HTML tree ``html_dir`` (a list of lines); ``notes`` collects notes."""
    problems = []
    api_dir = os.path.join(html_dir, "gen_modules")
    if not os.path.isdir(api_dir):
        return [f"{api_dir} does not exist: build the docs first"]
    for name in sorted(os.listdir(api_dir)):
        if name.endswith(".html") and _private_path(name[: -len(".html")]):
            problems.append(f"gen_modules/{name}: documents a private object")
    for root, dirs, files in os.walk(html_dir):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
        for name in sorted(files):
            if not name.endswith(".html"):
                continue
            path = os.path.join(root, name)
            parser = _Page()
            with open(path, encoding="utf-8") as fh:
                parser.feed(fh.read())
            rel = os.path.relpath(path, html_dir)
            problems += [f"{rel}: {p}" for p in dict.fromkeys(parser.problems)]
            if notes is not None:
                notes += [f"{rel}: {n}" for n in dict.fromkeys(parser.notes)]
    return problems


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    html_dir = argv[0] if argv else os.path.join(os.path.dirname(__file__), "_build", "html")
    notes = []
    problems = check(html_dir, notes)
    for n in notes:
        print(f"note: {n}")
    for p in problems:
        print(p)
    n_pages = sum(len([f for f in fs if f.endswith(".html")]) for _, _, fs in os.walk(html_dir))
    if problems:
        print(f"{len(problems)} private name(s) in the docs; document public names only "
              "(quboclf.X, quboclf.studies.X, quboclf.datasets.X)")
        return 1
    print(f"no private names in {n_pages} HTML pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
