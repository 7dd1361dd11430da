"""Sphinx configuration for quboclf."""

import os
import shutil
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.join(_HERE, "_ext"))
import offline_inventories
from docutils import nodes

import quboclf

project = "quboclf"
author = "The quboclf developers"
copyright = "2026, The quboclf developers"
version = release = quboclf.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
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
# Public members only: autodoc skips _private and __dunder__ names unless told otherwise, and the
# class template (_templates/autosummary/class.rst) lists public methods only.
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# Links to Python, NumPy, SciPy, scikit-learn, dimod and dwave-system: the inventories are written
# at build time from the installed packages (no network; see _ext/offline_inventories.py) and the
# links go to each project's online documentation.
intersphinx_mapping = offline_inventories.intersphinx_mapping(
    os.path.join(_HERE, "_build", "inventories")
)
intersphinx_disabled_reftypes = ["std:doc"]


def _mathjax_folder():
    """MathJax 2 served with the docs (no CDN): Debian's libjs-mathjax, or $QUBOCLF_MATHJAX."""
    for folder in (os.environ.get("QUBOCLF_MATHJAX"), "/usr/share/javascript/mathjax"):
        if folder and os.path.isfile(os.path.join(folder, "MathJax.js")):
            return folder
    raise RuntimeError(
        "MathJax not found: the docs serve it themselves so that the maths renders offline. "
        "Install it with `apt-get install libjs-mathjax` (Debian/Ubuntu), or set QUBOCLF_MATHJAX "
        "to a MathJax 2 folder (the one holding MathJax.js)."
    )


def _stage_mathjax():
    # only what the TeX-AMS_CHTML configuration loads (1.6 MB of the package's 54 MB)
    src = _mathjax_folder()
    dst = os.path.join(_HERE, "_build", "mathjax-static", "mathjax")
    if os.path.isfile(os.path.join(dst, "MathJax.js")):
        return os.path.dirname(dst)
    parts = [
        "MathJax.js",
        "config/TeX-AMS_CHTML.js",
        "extensions",
        "jax/input/TeX",
        "jax/output/CommonHTML",
        "jax/element",
        "fonts/HTML-CSS/TeX/woff",
        "localization/en",
    ]
    for part in parts:
        source, target = os.path.join(src, part), os.path.join(dst, part)
        if os.path.isdir(source):
            shutil.copytree(source, target, dirs_exist_ok=True)
        elif os.path.isfile(source):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(source, target)
    return os.path.dirname(dst)


html_static_path = ["_static", _stage_mathjax()]
html_css_files = ["quboclf.css"]
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_CHTML"

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
    # "Examples using this class" on every API page (see _templates/autosummary/class.rst)
    "doc_module": ("quboclf",),
    "backreferences_dir": "gen_modules/backreferences",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "plot_gallery": "True",
}


#: Inherited plumbing of dimod.Sampler that a user of the sampler never calls; the class
#: template leaves them out of the method table too.
HIDDEN_METHODS = ("close", "parse_initial_states", "remove_unknown_kwargs")
autosummary_context = {"hidden_methods": HIDDEN_METHODS}


def _skip_metadata_request(app, what, name, obj, skip, options):
    # sklearn generates set_*_request methods per estimator; their docstrings point into
    # sklearn's own docs and are the same for every estimator.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    if name in HIDDEN_METHODS and getattr(obj, "__module__", "").startswith("dimod"):
        return True
    return skip


def _dash_cells(app, doctree):
    # In a list-table, a cell written "-" (meaning "none") parses as an empty bullet list and
    # renders as a bullet; show it as an en dash instead.
    for entry in doctree.findall(nodes.entry):
        if len(entry.children) != 1 or not isinstance(entry.children[0], nodes.bullet_list):
            continue
        items = entry.children[0].children
        if len(items) == 1 and not items[0].children:
            entry.children = []
            entry += nodes.paragraph(text="\u2013")


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request)
    app.connect("doctree-read", _dash_cells)
