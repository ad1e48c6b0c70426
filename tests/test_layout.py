"""The repository's rooms import each other one way only, and the endpoint's code stands alone.

    inference_code <- training <- pipeline_lambdas <- infra <- localaws <- local_pipeline
      <- operations <- calltime

Every import statement counts, including those inside functions (a lazy import is still a
dependency). `benchmarks/` and `tests/` stand outside and may use any room.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from calltime.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
ORDER = ("inference_code", "training", "pipeline_lambdas", "infra", "localaws", "local_pipeline",
         "operations", "calltime")
OUTSIDE = ("benchmarks",)
# What the serving container provides besides the standard library.
SERVING_IMAGE = {"numpy", "sagemaker_containers"}


def imported_modules(package: str) -> dict[str, set[str]]:
    """Top-level module names each file of a package imports (relative imports excluded)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def room_graph() -> dict[str, set[str]]:
    """room -> the other rooms it imports."""
    rooms = set(ORDER)
    return {room: {name for names in imported_modules(room).values() for name in names
                   if name in rooms and name != room} for room in ORDER}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path (first node repeated at the end), or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node):], node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def test_find_cycle_finds_one_and_only_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_rooms_import_each_other_without_a_cycle() -> None:
    graph = room_graph()
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


@pytest.mark.parametrize("room", ORDER)
def test_each_room_imports_only_the_rooms_before_it(room: str) -> None:
    allowed = set(ORDER[:ORDER.index(room)])
    for path, names in imported_modules(room).items():
        later = sorted(names & (set(ORDER) | set(OUTSIDE)) - allowed - {room})
        assert not later, f"{path} imports {', '.join(later)}; {room} may import only " \
                          f"{', '.join(sorted(allowed)) or 'the standard library and numpy'}"


def test_the_endpoint_code_needs_only_what_the_serving_image_has() -> None:
    for path, names in imported_modules("inference_code").items():
        foreign = sorted(names - set(sys.stdlib_module_names) - SERVING_IMAGE
                         - {"inference_code"})
        assert not foreign, f"{path} imports {', '.join(foreign)}: not in the serving container"


def test_every_subcommand_is_registered_by_an_earlier_room() -> None:
    """`calltime` lists subcommands by module path; each lives in a room, none in calltime."""
    for command in COMMANDS:
        room = command.adder.split(".")[0]
        assert room in ORDER[:-1], f"calltime {' '.join(command.path)}: {command.adder}"
