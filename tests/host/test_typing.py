"""The public API's types: ``mypy --strict`` on it and on a program that uses
it (typing_sample.py), and the hand-written parts the checker trusts held
to what runs: the binding's stub to the compiled module, the dataclasses'
``__init__`` written for the checker to the ones dataclass makes."""

import ast
import dataclasses
import inspect
import os
import subprocess
import sys
import tomllib

import pytest

import typing_sample
from rtshell import errors, model
from rtshell._rtmgr_cffi import ffi, lib
from rtshell.model import Event, Filter, Match, NextHop, Route, RouteType

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STUB = os.path.join(ROOT, "rtshell", "_rtmgr_cffi.pyi")


def _mypy_files():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["tool"]["mypy"]["files"]


def test_mypy_strict_passes_on_the_public_api_and_the_sample(tmp_path):
    child = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "mypy-cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert child.returncode == 0, f"mypy --strict failed:\n{child.stdout}{child.stderr}"
    assert child.stdout.startswith("Success: no issues found"), child.stdout


def test_mypy_checks_every_module_the_public_api_imports():
    # modules loaded from a file (cffi also registers its lib object as rtshell._rtmgr_cffi.lib)
    code = ("import sys, rtshell; print('\\n'.join(name for name, m in sys.modules.items() "
            "if name.startswith('rtshell') and getattr(m, '__file__', None)))")
    child = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=ROOT), timeout=120, check=True)
    checked = set(_mypy_files())
    for name in child.stdout.split():
        path = name.replace(".", "/")
        assert {f"{path}.py", f"{path}/__init__.py", f"{path}.pyi"} & checked, name
    assert "tests/host/typing_sample.py" in checked


def test_the_sample_does_what_it_says_without_a_kernel():
    plain, multipath, blackhole, parsed = typing_sample.routes()
    assert str(plain.gateway) == "10.99.0.2" and multipath.nexthops[0].weight == 3
    assert blackhole.type is RouteType.BLACKHOLE and (parsed.metric, parsed.table) == (5, 100)
    inside, by_table = typing_sample.filters()
    assert inside.match is Match.ROOT and inside.matches(plain) and not by_table.matches(plain)
    assert typing_sample.describe(errors.RouteExists(None, "route exists")) == "EEXIST: route exists"
    typing_sample.on_event(Event(kind="new", route=plain))


# ---- the binding's stub against the compiled module ---------------------------------


def _stub_classes():
    with open(STUB, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _py_type(ctype, *, argument=False):
    """The stub's annotation for a cffi type."""
    if ctype.kind == "primitive":
        return "int"
    if ctype.kind == "void":
        return "None"
    if ctype.kind == "struct":
        return ctype.cname.removeprefix("struct ")
    item = ctype.item
    if item.kind == "struct":
        # a struct pointer argument takes one struct (ffi.new("struct x *")), or an array of them
        name = ctype.item.cname.removeprefix("struct ")
        return (name, f"Array[{name}]") if argument else f"Array[{_py_type(item)}]"
    if item.kind == "void":
        return ("CData", "_In")  # void *: a C buffer; const void *: a buffer or bytes
    return "Bytes"


def _matches(annotation, expected):
    return annotation in expected if isinstance(expected, tuple) else annotation == expected


@pytest.mark.parametrize("name", [n for n in _stub_classes() if n.startswith("rtm_")])
def test_the_stub_has_every_struct_field_with_its_type(name):
    stub = [(n.target.id, ast.unparse(n.annotation)) for n in _stub_classes()[name].body
            if isinstance(n, ast.AnnAssign)]
    real = [(field, _py_type(f.type)) for field, f in ffi.typeof(f"struct {name}").fields]
    assert stub == real


def test_the_stub_has_every_function_of_lib_with_its_signature():
    defs = {n.name: n for n in _stub_classes()["Lib"].body if isinstance(n, ast.FunctionDef)}
    assert defs.pop("__getattr__")
    functions = sorted(n for n in dir(lib) if callable(getattr(lib, n)))
    assert sorted(defs) == functions
    for name in functions:
        ctype = ffi.typeof(getattr(lib, name))
        args = [ast.unparse(a.annotation) for a in defs[name].args.posonlyargs[1:]]
        assert len(args) == len(ctype.args), name
        for annotation, arg in zip(args, ctype.args):
            assert _matches(annotation, _py_type(arg, argument=True)), (name, annotation, arg.cname)
        assert ast.unparse(defs[name].returns) == _py_type(ctype.result), name


def test_every_other_name_of_lib_is_an_int_constant():
    constants = [n for n in dir(lib) if not callable(getattr(lib, n))]
    assert len(constants) > 50 and all(type(getattr(lib, n)) is int for n in constants)


def test_every_cdecl_the_stub_gives_ffi_new_is_one_cffi_knows():
    overloads = [n for n in _stub_classes()["FFI"].body if isinstance(n, ast.FunctionDef) and n.name == "new"]
    cdecls = [value for n in overloads for value in ast.literal_eval(
        ast.unparse(n.args.args[1].annotation).removeprefix("Literal").replace("[", "(", 1)[:-1] + ",)")]
    assert "struct rtm_route *" in cdecls and "uint8_t[]" in cdecls
    for cdecl in cdecls:
        ffi.typeof(cdecl)


# ---- the dataclasses' __init__ as the checker sees it ------------------------------


@pytest.mark.parametrize("cls", [NextHop, Route, Filter])
def test_the_checkers_init_is_the_dataclass_init(cls):
    with open(model.__file__, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    (node,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__]
    (init,) = [d for n in node.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
               for d in n.body if isinstance(d, ast.FunctionDef) and d.name == "__init__"]
    params = init.args.args[1:]
    defaults = [None] * (len(params) - len(init.args.defaults)) + init.args.defaults
    written = [(p.arg, None if d is None else eval(ast.unparse(d), vars(model)))
               for p, d in zip(params, defaults)]
    real = [(p.name, None if p.default is inspect.Parameter.empty else p.default)
            for p in list(inspect.signature(cls.__init__).parameters.values())[1:]]
    assert written == real
    assert [name for name, _ in written] == [f.name for f in dataclasses.fields(cls) if f.init]
