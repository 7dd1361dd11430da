"""The docs' own code: the onboarding pages run as doctests, so their outputs cannot drift."""

import doctest
import os
import warnings

import pytest

DOCS = os.path.join(os.path.dirname(__file__), os.pardir, "docs")


@pytest.mark.parametrize(
    "page",
    ["getting_started.rst", "qubo_primer.rst", "guide/classifier.rst", "guide/samplers.rst"],
)
def test_page_examples_run(page):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = doctest.testfile(
            os.path.join(DOCS, page),
            module_relative=False,
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
            raise_on_error=False,
            verbose=False,
        )
    assert result.attempted > 0, f"{page} has no examples"
    assert result.failed == 0, f"{result.failed} example(s) of docs/{page} failed (see above)"


def _checker():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "check_public_api", os.path.join(DOCS, "check_public_api.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _page(folder, name, body):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")


def test_private_name_checker_flags_private_names(tmp_path):
    check = _checker().check
    table = (
        '<table class="autosummary"><tbody>'
        '<tr><td><p><a href="#quboclf.QUBOCNNClassifier.fit">fit</a></p></td><td>Fit.</td></tr>'
        "{row}</tbody></table>"
    )
    _page(tmp_path, "gen_modules/quboclf.QUBOCNNClassifier.html", table.format(row=""))
    # a clean tree passes; "[source]" links into _modules/ are allowed
    _page(tmp_path, "index.html", '<a href="_modules/quboclf/_classifier.html">[source]</a>')
    assert check(str(tmp_path)) == []

    private_row = '<tr><td><p><a href="#x">_fit_head</a></p></td><td>Private.</td></tr>'
    _page(tmp_path, "gen_modules/quboclf.QUBOQuantizer.html", table.format(row=private_row))
    _page(tmp_path, "gen_modules/quboclf._bench.classifier_study.html", "")
    _page(tmp_path, "guide.html", '<a href="gen_modules/quboclf._qubo.html#quboclf._qubo.x">x</a>')
    notes = []
    _page(tmp_path, "other.html", '<code class="xref py py-func">quboclf._anneal.anneal()</code>')
    problems = check(str(tmp_path), notes)
    assert any("_fit_head" in p for p in problems)
    assert any("documents a private object" in p for p in problems)
    assert any("links to a private name" in p for p in problems)
    assert notes == ["other.html: names a private object: quboclf._anneal.anneal()"]
