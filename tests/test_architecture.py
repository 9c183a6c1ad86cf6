"""The shape of the code: data flows one way through vidprint's stages.

Every ``.py`` file under ``vidprint/`` is parsed (not imported) and every import statement in it is
collected, including imports inside functions and ``importlib.import_module("...")`` calls with a
literal name. The tests then fail on:

* an **upward import**: a stage importing a stage of a higher layer (see :data:`LAYERS`);
* an **import cycle between packages** (possible only between packages of the same layer);
* a **private import across stages**: ``vidprint.X._module`` or a ``_name`` from ``vidprint.X`` imported
  from outside package ``X`` (stages talk through their public entry points only);
* a **top-level module or package missing from** :data:`LAYERS` (so that new code gets a place).

The root ``vidprint/__init__.py`` is the public facade: it may import anything (lazily), and no stage
may import it back (``import vidprint`` or ``from vidprint import fingerprint`` inside a stage).
"""
from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

import vidprint

ROOT = Path(vidprint.__file__).resolve().parent
FACADE = "vidprint"

#: Layer of every top-level module or package of vidprint. A module may import its own package and
#: packages of the same or a lower layer (without forming a cycle), never a higher one.
LAYERS: dict[str, int] = {
    # 0: foundations, no vidprint imports but each other
    "errors": 0,
    "atomic": 0,
    "fileio": 0,  # path / bytes / file-object reading and atomic writing of hash files
    "_numba_cache": 0,
    "worker_env": 0,  # the environment of worker processes (one BLAS thread each)
    # 1: decoding (PyAV, CFR resampling, YUV -> RGB / luma conversion)
    "decode": 1,
    "synth": 1,  # synthetic test / demo videos: PyAV and numpy only
    # 2: the per-frame hash
    "pdqf": 2,
    # 3: video descriptors built from per-frame hashes
    "tmk": 3,
    "vpdq": 3,
    # 4: one decode pass -> all descriptors; the Fingerprint record; the one-call verdict
    "pipeline": 4,
    "record": 4,  # the Fingerprint record and its .vpfp file (descriptors only)
    "matching": 4,
    # 5 and up: applications of the above
    "index": 5,
    "batch": 6,
    "eval": 7,
    "cli": 8,
}

# ---------------------------------------------------------------------------------------------------
# Known violations that other in-flight tasks of the same change remove. Each entry names the task;
# the lead deletes the entry (and, when both are empty, this block) at integration. An entry that no
# longer matches anything makes test_allow_list_is_not_stale fail, so the list cannot rot.
# ---------------------------------------------------------------------------------------------------
#: (importing package, imported package) -> task that removes the upward import.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}
#: (importing package, imported private module) -> task that removes the private import.
KNOWN_PRIVATE: dict[tuple[str, str], str] = {}
#: Packages that exist only until a move finishes -> (layer they occupy meanwhile, task).
KNOWN_TEMPORARY: dict[str, tuple[int, str]] = {}


@dataclass(frozen=True)
class Import:
    """One imported module (``target``) and, for ``from X import a, b``, the names taken from it."""

    source: str  # importing module, e.g. "vidprint.tmk.score"
    target: str  # imported module, e.g. "vidprint.errors" (or "vidprint" for the facade)
    names: tuple[str, ...]  # names imported from target that are not themselves modules
    line: int

    def where(self) -> str:
        return f"{self.source.replace('.', '/')}.py:{self.line}"


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def collect_modules(root: Path) -> dict[str, Path]:
    """``{dotted module name: path}`` for every ``.py`` file under ``root`` (a package folder)."""
    return {module_name(p, root): p for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts}


def _literal_import_module(node: ast.AST) -> str | None:
    """The name in ``importlib.import_module("x.y")`` / ``import_module("x.y")`` with a literal string."""
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == "import_module" and isinstance(node.args[0].value, str) and not node.keywords:
            return node.args[0].value
    return None


def imports_of(name: str, source: str, modules: set[str], is_package: bool) -> list[Import]:
    """Every vidprint import in ``source`` (the text of module ``name``), at any nesting depth."""
    out: list[Import] = []
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.append(Import(name, alias.name, (), node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: "from . import x", "from ..y import z"
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            plain = []
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:  # "from vidprint.tmk import compact" imports a module
                    out.append(Import(name, sub, (), node.lineno))
                else:
                    plain.append(alias.name)
            if plain:
                out.append(Import(name, target, tuple(plain), node.lineno))
        else:
            literal = _literal_import_module(node)
            if literal:
                out.append(Import(name, literal, (), node.lineno))
    return [i for i in out if i.target == FACADE or i.target.startswith(FACADE + ".")]


def package_of(module: str) -> str:
    """Top-level package of a vidprint module: ``vidprint.tmk.score`` -> ``tmk``; the root -> facade."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else FACADE


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def layer_of(package: str, layers: dict[str, int]) -> int | None:
    if package in layers:
        return layers[package]
    if package in KNOWN_TEMPORARY:
        return KNOWN_TEMPORARY[package][0]
    return None


def violations(imports: list[Import], layers: dict[str, int]) -> dict[str, list[tuple[tuple, str]]]:
    """Rule breaks, by kind: ``{"upward" | "private" | "facade": [(allow-list key, message)]}``."""
    found: dict[str, list[tuple[tuple, str]]] = {"upward": [], "private": [], "facade": []}
    for imp in imports:
        src, dst = package_of(imp.source), package_of(imp.target)
        if src == FACADE or src == dst:
            continue
        if dst == FACADE:
            found["facade"].append(((src, FACADE), f"{imp.where()}: {src} imports the facade "
                                    f"(vidprint/__init__.py, which re-exports higher stages): "
                                    f"from vidprint import {', '.join(imp.names) or '...'}"))
            continue
        ls, ld = layer_of(src, layers), layer_of(dst, layers)
        if ls is not None and ld is not None and ld > ls:
            found["upward"].append(((src, dst), f"{imp.where()}: {src} (layer {ls}) imports {imp.target} "
                                    f"(layer {ld})"))
        private_parts = [p for p in imp.target.split(".")[2:] if _private(p)]
        if private_parts:
            found["private"].append(((src, imp.target), f"{imp.where()}: {src} imports {dst}'s private "
                                     f"module {imp.target}"))
        for n in imp.names:
            if _private(n):
                found["private"].append(((src, f"{imp.target}.{n}"), f"{imp.where()}: {src} imports "
                                         f"private name {n} from {imp.target}"))
    return found


def package_cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected groups (of 2 or more packages) of the package import graph (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        a, b = package_of(imp.source), package_of(imp.target)
        if a != b and FACADE not in (a, b):
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def scan(root: Path) -> tuple[dict[str, Path], list[Import]]:
    modules = collect_modules(root)
    names = set(modules)
    imports = []
    for name, path in modules.items():
        imports += imports_of(name, path.read_text(encoding="utf-8"), names, path.name == "__init__.py")
    return modules, imports


@pytest.fixture(scope="module")
def graph():
    return scan(ROOT)


# ---------------------------------------------------------------------------------------------------
# The rules, on vidprint itself
# ---------------------------------------------------------------------------------------------------


def test_every_top_level_module_has_a_layer(graph):
    modules, _ = graph
    packages = {package_of(m) for m in modules} - {FACADE}
    missing = sorted(p for p in packages if layer_of(p, LAYERS) is None)
    assert not missing, f"add these to LAYERS in tests/test_architecture.py (with their layer): {missing}"


def test_no_upward_imports(graph):
    _, imports = graph
    found = violations(imports, LAYERS)
    bad = [msg for key, msg in found["upward"] if key not in KNOWN_UPWARD] + [msg for _, msg in found["facade"]]
    assert not bad, "imports that climb the layers:\n" + "\n".join(bad)


def test_no_private_imports_across_stages(graph):
    _, imports = graph
    bad = [msg for key, msg in violations(imports, LAYERS)["private"] if key not in KNOWN_PRIVATE]
    assert not bad, "imports of another stage's private modules or names:\n" + "\n".join(bad)


def test_no_import_cycle_between_packages(graph):
    _, imports = graph
    cycles = package_cycles(imports)
    detail = []
    for group in cycles:
        detail += [f"  {i.where()}: {i.target}" for i in imports
                   if package_of(i.source) in group and package_of(i.target) in group
                   and package_of(i.source) != package_of(i.target)]
    assert not cycles, f"package import cycles {cycles}:\n" + "\n".join(detail)


def test_allow_list_is_not_stale(graph):
    """Each allow-list entry still matches a real import; remove it once its task has landed."""
    modules, imports = graph
    found = violations(imports, LAYERS)
    upward = {key for key, _ in found["upward"]}
    private = {key for key, _ in found["private"]}
    packages = {package_of(m) for m in modules}
    stale = [k for k in KNOWN_UPWARD if k not in upward] + [k for k in KNOWN_PRIVATE if k not in private]
    stale += [k for k in KNOWN_TEMPORARY if k not in packages]
    assert not stale, f"allow-list entries that no longer match anything (delete them): {stale}"


def test_every_cited_section_exists_in_the_algorithm_notes():
    """Code comments cite "§N" / "§N.M" of docs/algorithms.md: each cited section has a heading there."""
    import re

    notes = ROOT.parent / "docs" / "algorithms.md"
    if not notes.is_file():
        pytest.skip(f"{notes} is not part of this install (source checkout only)")
    headings = set(re.findall(r"^#+ §(\d+(?:\.\d+)?) ", notes.read_text(encoding="utf-8"), flags=re.M))
    cited: dict[str, list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for sec in re.findall(r"§ ?(\d+(?:\.\d+)?)", line):
                cited.setdefault(sec, []).append(f"{path.relative_to(ROOT.parent)}:{n}")
    assert cited, "no section citations found: is the pattern still right?"
    missing = {sec: where for sec, where in cited.items() if sec not in headings}
    assert not missing, f"sections cited in the code but absent from {notes}: {missing}"


# ---------------------------------------------------------------------------------------------------
# The checker itself, on a small synthetic package (so a passing run above means something)
# ---------------------------------------------------------------------------------------------------

_FAKE = {
    "vidprint/__init__.py": "from vidprint.errors import VidprintError\n",
    "vidprint/errors.py": "",
    "vidprint/decode/__init__.py": "from .reader import read\n",
    "vidprint/decode/reader.py": textwrap.dedent("""
        import numpy
        from vidprint.errors import VidprintError
        def f():
            from vidprint.pdqf import hash_luma          # upward, inside a function
            from vidprint import fingerprint             # the facade
    """),
    "vidprint/pdqf/__init__.py": "from vidprint.pdqf import _kernels\n",
    "vidprint/pdqf/_kernels.py": "",
    "vidprint/tmk/__init__.py": "from ..vpdq import match\n",
    "vidprint/vpdq/__init__.py": textwrap.dedent("""
        from vidprint.pdqf import _kernels as k          # private module of another stage
        from vidprint.pdqf.hash import _popcount         # private name of another stage
        import importlib
        def g():
            return importlib.import_module("vidprint.tmk")   # closes a tmk <-> vpdq cycle
    """),
    "vidprint/vpdq/match.py": "",
    "vidprint/pdqf/hash.py": "",
}


@pytest.fixture()
def fake(tmp_path):
    for rel, text in _FAKE.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return scan(tmp_path / "vidprint")


def test_checker_finds_each_kind_of_violation(fake):
    modules, imports = fake
    assert {"vidprint.decode.reader", "vidprint.pdqf._kernels", "vidprint.decode"} <= set(modules)
    layers = {"errors": 0, "decode": 1, "pdqf": 2, "tmk": 3, "vpdq": 3}
    found = violations(imports, layers)
    assert [k for k, _ in found["upward"]] == [("decode", "pdqf")]
    assert "reader.py:5" in found["upward"][0][1]  # the import inside f() was seen, with its line
    assert [k for k, _ in found["facade"]] == [("decode", FACADE)]
    assert sorted(k for k, _ in found["private"]) == [("vpdq", "vidprint.pdqf._kernels"),
                                                       ("vpdq", "vidprint.pdqf.hash._popcount")]
    assert package_cycles(imports) == [["tmk", "vpdq"]]
    # relative imports resolve against the importing module's package; numpy is not collected
    targets = {(i.source, i.target) for i in imports}
    assert ("vidprint.decode", "vidprint.decode.reader") in targets
    assert ("vidprint.tmk", "vidprint.vpdq.match") in targets
    assert not any(i.target == "numpy" for i in imports)


def test_checker_accepts_a_clean_package(fake, tmp_path):
    (tmp_path / "vidprint/decode/reader.py").write_text("from vidprint.errors import VidprintError\n")
    (tmp_path / "vidprint/vpdq/__init__.py").write_text("from vidprint.pdqf import hash\n")
    _, imports = scan(tmp_path / "vidprint")
    layers = {"errors": 0, "decode": 1, "pdqf": 2, "tmk": 3, "vpdq": 3}
    assert violations(imports, layers) == {"upward": [], "private": [], "facade": []}
    assert package_cycles(imports) == []
