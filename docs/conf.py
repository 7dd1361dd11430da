"""Sphinx configuration for quboclf."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
import quboclf

project = "quboclf"
author = "The quboclf developers"
copyright = "2026, The quboclf developers"
version = release = quboclf.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**.zip"]
templates_path = ["_templates"]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"quboclf {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # plot_*.py run when the docs build; any other example (qpu_*.py needs a QPU) is shown
    # without being run. QUBOCLF_GALLERY_RUN (a regex) narrows what runs, for quick local builds.
    "filename_pattern": os.environ.get("QUBOCLF_GALLERY_RUN", r"/plot_"),
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "plot_gallery": "True",
}


def _skip_metadata_request(app, what, name, obj, skip, options):
    # sklearn generates set_*_request methods per estimator; their docstrings point into
    # sklearn's own docs and are the same for every estimator.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request)
