"""The package's architecture, read from its source: layers, import cycles, module sizes.

Every module under `sim/` is parsed with `ast`, and every import counts, those inside functions
(lazy imports) included. The subpackages are layers, and a module may import only from its own
layer and the layers below it:

    cli -> explore -> api -> report -> analysis -> ensemble -> model -> inputs

(`sim/__init__.py` is below them all, but offers the names of `sim.api` — `sim.simulate` — by
importing it on first use, the one import that `FACADE` exempts; `sim/__main__.py` belongs to
the command line). No two
`sim` modules import each other, directly or through others; nothing in `sim/model/` imports
plotting, tables or file-output libraries; the command modules of `sim/cli/` share helpers only
through `sim.cli.common` and `sim.cli.running`; and no module is longer than `MAX_LINES`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIM = ROOT / "sim"
#: Layer of each subpackage: a module may import from its own layer and the ones below.
LAYERS = {
    "inputs": 0,
    "model": 1,
    "ensemble": 2,
    "analysis": 3,
    "report": 4,
    "api": 5,
    "explore": 6,
    "cli": 7,
}
#: Imports exempt from the layers and the cycle check: the package re-exports the Python API's
#: functions (`sim.simulate`), imported when first asked for, so `import sim` stays light.
FACADE = {("sim", "sim.api")}
#: Modules directly under sim/: the package itself (version numbers only) and `python -m sim`.
TOP_MODULES = {"sim": -1, "sim.__main__": LAYERS["cli"]}
MAX_LINES = 800
#: Third-party packages the model never imports: plotting, tables, file formats, progress, Dask.
MODEL_FORBIDDEN = ("matplotlib", "pandas", "pyarrow", "tqdm", "dask", "distributed")
#: What a command module of sim/cli/ may import from sim.cli.
CLI_SHARED = {"sim.cli.common", "sim.cli.running"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sim_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(SIM.rglob("*.py"))}


def imported_names(name: str, path: Path) -> list[tuple[str, int]]:
    """Every (module or module.attribute, line) that `name` imports, anywhere in its source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.args[0].value, node.lineno))
    return found


def resolve(imported: str, modules: set[str]) -> str | None:
    """The sim module an import names: `from a.b import c` is module a.b.c if there is one,
    else a.b. None for anything outside sim."""
    if imported != "sim" and not imported.startswith("sim."):
        return None
    while imported not in modules:
        imported = imported.rpartition(".")[0]
    return imported


def import_graph() -> tuple[dict[str, dict[str, int]], dict[str, list[tuple[str, int]]]]:
    """({module: {sim module it imports: line}}, {module: [(third-party import, line)]})."""
    modules = sim_modules()
    graph: dict[str, dict[str, int]] = {}
    external: dict[str, list[tuple[str, int]]] = {}
    for name, path in modules.items():
        graph[name] = {}
        external[name] = []
        for imported, line in imported_names(name, path):
            target = resolve(imported, set(modules))
            if target is None:
                external[name].append((imported, line))
            elif target != name and (name, target) not in FACADE:
                graph[name].setdefault(target, line)
    return graph, external


def layer(module: str) -> int:
    if module in TOP_MODULES:
        return TOP_MODULES[module]
    return LAYERS[module.split(".")[1]]


def upward_imports(graph: dict[str, dict[str, int]]) -> list[str]:
    """Imports of a higher layer, as readable lines."""
    return [
        f"{module}:{line} imports {target} (layer {layer(target)} above {layer(module)})"
        for module, targets in sorted(graph.items())
        for target, line in sorted(targets.items())
        if layer(target) > layer(module)
    ]


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# --- the rules, on the real package -----------------------------------------------------------


def test_every_module_belongs_to_a_layer():
    unplaced = [m for m in sim_modules() if m not in TOP_MODULES and m.split(".")[1] not in LAYERS]
    assert not unplaced, f"modules outside the layers {sorted(LAYERS)}: {unplaced}"


def test_imports_point_down_the_layers():
    graph, _ = import_graph()
    problems = upward_imports(graph)
    assert not problems, "\n".join(problems)


def test_no_import_cycles():
    graph, _ = import_graph()
    found = cycles(graph)
    assert not found, "modules that import each other: " + "; ".join(map(", ".join, found))


def test_the_model_imports_no_plotting_tables_or_output():
    _, external = import_graph()
    problems = [
        f"{module}:{line} imports {name}"
        for module, names in external.items()
        if module.startswith("sim.model")
        for name, line in names
        if name.split(".")[0] in MODEL_FORBIDDEN
    ]
    assert not problems, "\n".join(problems)


def test_commands_share_helpers_only_through_common_modules():
    graph, _ = import_graph()
    problems = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module.startswith("sim.cli.") and module != "sim.cli.main"
        for target in targets
        if target.startswith("sim.cli.") and target not in CLI_SHARED
    ]
    problems += [f"sim.cli.common imports {t}" for t in graph["sim.cli.common"] if t != "sim"]
    assert not problems, "\n".join(problems)


def test_no_module_is_longer_than_the_limit():
    lengths = {
        name: len(path.read_text(encoding="utf-8").splitlines())
        for name, path in sim_modules().items()
    }
    long = {name: n for name, n in lengths.items() if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_package_imports_the_python_api_only_when_asked():
    """`import sim` is light; `sim.simulate` is the API's function, loaded on first use."""
    code = (
        "import sys, sim\n"
        "heavy = ('numpy', 'pandas', 'mesa', 'solara', 'sim.api')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "from sim.api import simulate\n"
        "print(sim.simulate is simulate, 'simulate' in dir(sim))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.split("\n")[:2] == ["[]", "True True"]


def test_check_imports_no_numerical_library():
    """`changwon-sim check` stays quick: the parser and the scenario loader only."""
    code = (
        "import sys\n"
        "from sim.cli.main import main\n"
        f"assert main(['check', {str(ROOT / 'scenarios' / 'baseline.yaml')!r}]) == 0\n"
        "heavy = ('numpy', 'pandas', 'scipy', 'matplotlib', 'mesa', 'pyarrow', 'dask', 'solara')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


# --- the checks themselves find what they look for ----------------------------------------------


def test_the_checks_catch_a_cycle_and_an_upward_import():
    graph = {
        "sim.model.a": {"sim.ensemble.b": 3},  # model imports ensemble: upward
        "sim.ensemble.b": {"sim.ensemble.c": 5},
        "sim.ensemble.c": {"sim.model.a": 7},  # and back: a cycle of three
        "sim.inputs.d": {},
    }
    assert cycles(graph) == [["sim.ensemble.b", "sim.ensemble.c", "sim.model.a"]]
    assert upward_imports(graph) == ["sim.model.a:3 imports sim.ensemble.b (layer 2 above 1)"]
    assert cycles({"sim.inputs.d": {}, "sim.model.a": {"sim.inputs.d": 1}}) == []


def test_lazy_and_relative_imports_are_read(tmp_path):
    source = tmp_path / "x.py"
    source.write_text(
        "import os\n"
        "def f():\n"
        "    from sim.report import plots\n"
        "    from . import rules\n"
        "    import importlib\n"
        "    importlib.import_module('sim.cli.main')\n",
        encoding="utf-8",
    )
    found = imported_names("sim.model.x", source)
    modules = {"sim", "sim.report", "sim.report.plots", "sim.model", "sim.model.rules", "sim.cli"}
    modules |= {"sim.cli.main"}
    targets = {resolve(name, modules) for name, _ in found} - {None}
    assert targets == {"sim.report.plots", "sim.model.rules", "sim.cli.main"}
