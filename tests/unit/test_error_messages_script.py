"""scripts/error_messages.py counts what share of error messages the tests produce: these pin down
how it reads templates out of source and matches them, so a wrong count cannot pass unnoticed."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests import error_capture
from tests.script_loading import load_script

em = load_script("error_messages")

ERRORS = """
class TmrError(Exception):
    def __init__(self, message, **details):
        super().__init__(message)

class NotFound(TmrError):
    pass

class Conflict(TmrError):
    pass
"""


def source(module: str, text: str, is_package: bool = False) -> Any:
    return em.Source(module, module.replace(".", "/") + ".py", textwrap.dedent(text), is_package)


def scan(text: str, *more: Any) -> Any:
    """Inventory one module `pkg.mod` (plus any others) next to a small `pkg.errors`."""
    return em.inventory(
        [source("pkg.errors", ERRORS), source("pkg.mod", text), *more], base="pkg.errors.TmrError"
    )


def texts(found: Any) -> set[str]:
    return set(found.messages)


def test_fstring_fields_become_wildcards_and_the_regex_is_anchored() -> None:
    found = scan(
        """
        from pkg.errors import NotFound
        def f(aid, name):
            raise NotFound(f"no artifact with id {aid} named {name!r}")
        """
    )
    assert texts(found) == {"no artifact with id {…} named {…}"}
    message = found.messages["no artifact with id {…} named {…}"]
    assert [(s.line, s.cls) for s in message.sites] == [(4, "NotFound")]
    assert message.regex().fullmatch("no artifact with id 7 named 'bert'")
    assert not message.regex().fullmatch("error: no artifact with id 7 named 'bert'")
    assert not message.regex().fullmatch("no artifact with id 7")


def test_concatenations_are_one_template_and_spellings_of_one_message_merge() -> None:
    found = scan(
        """
        from pkg.errors import Conflict
        def f(x):
            Conflict("artifact " "id " + f"{x}" + " is taken")
            raise Conflict(f"artifact id {x} is taken")
            raise Conflict(f"artifact id {x}{x!r} is taken")
        """
    )
    assert texts(found) == {"artifact id {…} is taken"}
    assert [s.line for s in found.messages["artifact id {…} is taken"].sites] == [4, 5, 6]


def test_a_conditional_suffix_is_an_alternation() -> None:
    found = scan(
        """
        from pkg.errors import NotFound
        def f(name, version):
            raise NotFound(f"no artifact is named {name!r}" + (" with that version" if version else ""))
        """
    )
    message = found.messages["no artifact is named {…}{ with that version|}"]
    assert message.regex().fullmatch("no artifact is named 'a'")
    assert message.regex().fullmatch("no artifact is named 'a' with that version")


def test_messages_built_otherwise_are_dynamic_and_not_counted() -> None:
    found = scan(
        """
        from pkg.errors import NotFound, Conflict
        def f(text, args, exc):
            NotFound(text)
            NotFound("no %s" % text)
            Conflict("a" + text)
            Conflict(*args)
            NotFound(message="kept")
            raise ValueError("not a registry error")
        """
    )
    assert texts(found) == {"kept"}
    assert sorted(s.line for s in found.dynamic) == [4, 5, 6, 7]


def test_subclasses_are_found_through_aliases_reexports_and_relative_imports() -> None:
    hub = source(
        "pkg.hub",
        """
        from .errors import NotFound as Missing
        class RepoNotFound(Missing):
            pass
        class Unrelated(Exception):
            pass
        """,
    )
    reexport = source("pkg.api", "from pkg.hub import RepoNotFound\n", is_package=True)
    found = scan(
        """
        import pkg.errors as errs
        from pkg.api import RepoNotFound
        from . import hub
        class NotFound(Exception):  # a local class of the same name is no registry error
            pass
        class Gone(RepoNotFound):
            pass
        def f(x):
            RepoNotFound(f"no repo {x}")
            hub.Unrelated("not counted")
            errs.Conflict("via the module")
            Gone("subclass of a subclass")
            NotFound("shadowed")
        """,
        hub,
        reexport,
    )
    assert texts(found) == {"no repo {…}", "via the module", "subclass of a subclass"}
    assert {"pkg.hub.RepoNotFound", "pkg.mod.Gone"} <= found.error_classes
    assert "pkg.mod.NotFound" not in found.error_classes
    assert {s.cls for m in found.messages.values() for s in m.sites} == {"RepoNotFound", "Conflict", "Gone"}


def test_http_exception_detail_is_inventoried() -> None:
    found = scan(
        """
        from fastapi import HTTPException
        def f(x):
            raise HTTPException(404, f"nothing at {x}")
            raise HTTPException(status_code=400, detail="bad")
            raise HTTPException(405)
        """
    )
    assert texts(found) == {"nothing at {…}", "bad"}
    assert found.dynamic == []


def test_a_message_counts_only_when_its_class_produced_it() -> None:
    found = scan(
        """
        from pkg.errors import NotFound
        NotFound(f"{1}")
        NotFound(f"blob {1} not found")
        """
    )
    everything = found.messages["{…}"]
    assert em.produced(everything, [("NotFound", "anything at all")])
    assert not em.produced(everything, [("Conflict", "anything at all")])
    result = em.report(found, [("NotFound", "blob 3 not found!")])
    assert result.produced == {"{…}"}
    assert result.ratio == 0.5
    assert [m.text for m in result.unproduced()] == ["blob {…} not found"]


def test_the_plugins_lines_are_what_the_script_reads(tmp_path: Path) -> None:
    path = tmp_path / "captured.jsonl"
    error_capture.record(str(path), "NotFound", "no artifact with id 7\nsecond line")
    error_capture.record(str(path), "NotFound", "no artifact with id 7\nsecond line")
    with path.open("a") as torn:
        torn.write('{"cls": "NotFo')
    assert em.read_captured(path) == [("NotFound", "no artifact with id 7\nsecond line")]


def test_main_fails_below_the_threshold_and_lists_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = tmp_path / "tmr"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "errors.py").write_text(ERRORS)
    (package / "mod.py").write_text(
        "from tmr.errors import NotFound\n"
        "def f(x):\n"
        "    raise NotFound(f'no artifact with id {x}')\n"
        "def g():\n"
        "    raise NotFound('blob not found')\n"
    )
    captured = tmp_path / "captured.jsonl"
    captured.write_text(json.dumps({"cls": "NotFound", "message": "no artifact with id 3"}) + "\n")
    args = ["--src", str(package), "--captured", str(captured)]

    assert em.main([*args, "--min", "0.6", "--list"]) == 1
    out, err = capsys.readouterr()
    assert "produced by tests: 1 of 2 (50.0%)" in out
    assert "'blob not found'" in out
    assert "mod.py:5" in out
    assert "below the required 60%" in err

    assert em.main([*args, "--min", "0.5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["total"], report["produced"]) == (2, 1)
    assert {m["template"]: m["produced"] for m in report["messages"]} == {
        "no artifact with id {…}": True,
        "blob not found": False,
    }
