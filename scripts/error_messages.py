"""Which of the registry's error messages do the tests produce?

A static inventory (`ast`, nothing imported) of every place under src/tmr that constructs an
error a user can see: a call of `tmr.errors.TmrError` or any subclass of it (found by walking
class bases across the package, through imports and re-exports), and of Starlette/FastAPI's
`HTTPException`. The message is the first positional argument (or `message=`; `detail=` for
HTTPException). A string literal, an f-string (each `{...}` a wildcard), implicit concatenation, `+`
of those, and `a if c else b` of those (an alternation) make a template; anything else is
"dynamic" and listed apart, outside the percentage, since no template can say what it produces.

Each distinct template is one message, whatever the number of sites raising it. It counts as
produced when a message captured during a test run (tests/error_capture.py writes one JSON line
per constructed error when TMR_ERROR_CAPTURE names a file) matches it as an anchored regex and
was constructed by one of the classes raising that template: a class check keeps a template that
is mostly wildcard from being "produced" by any message at all.

    python scripts/error_messages.py --captured /tmp/errcap/captured.jsonl --list --min 0.8
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

ROOT = Path(__file__).resolve().parent.parent
BASE_ERROR = "tmr.errors.TmrError"
HTTP_EXCEPTIONS = frozenset(
    {"starlette.exceptions.HTTPException", "fastapi.HTTPException", "fastapi.exceptions.HTTPException"}
)
WILDCARD = "{…}"


# A template is a tuple of parts: a literal string, the wildcard (None), or an alternation (a
# tuple of templates), kept structured so that the regex and the display come from one source.
Template: TypeAlias = tuple["str | tuple[Template, ...] | None", ...]


@dataclass(frozen=True, order=True)
class Site:
    path: str
    line: int
    cls: str


@dataclass
class Message:
    template: Template
    sites: list[Site] = field(default_factory=list)

    @property
    def text(self) -> str:
        return render(self.template)

    @property
    def classes(self) -> frozenset[str]:
        return frozenset(site.cls for site in self.sites)

    def regex(self) -> re.Pattern[str]:
        return re.compile(pattern(self.template), re.DOTALL)


@dataclass
class Inventory:
    messages: dict[str, Message] = field(default_factory=dict)
    dynamic: list[Site] = field(default_factory=list)
    error_classes: set[str] = field(default_factory=set)

    def add(self, template: Template, site: Site) -> None:
        key = render(template)
        self.messages.setdefault(key, Message(template)).sites.append(site)


@dataclass(frozen=True)
class Source:
    module: str  # dotted name, e.g. tmr.api.errors
    path: str  # as shown in the report
    text: str
    is_package: bool = False


# --- templates -------------------------------------------------------------------------------------


def normalise(parts: Iterable[str | tuple[Template, ...] | None]) -> Template:
    """Merge adjacent literals, drop empty ones and fold runs of wildcards, so that two spellings of
    one message (`"a" "b"` and `"ab"`, `f"{x}{y}"` and `f"{x}"`) are one template."""
    out: list[str | tuple[Template, ...] | None] = []
    for part in parts:
        if part == "":
            continue
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + part
        elif part is None and out and out[-1] is None:
            continue
        else:
            out.append(part)
    return tuple(out)


def template_of(node: ast.expr) -> Template | None:
    """The template of a message expression, or None when it is built some other way."""
    if isinstance(node, ast.Constant):
        return (node.value,) if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        parts: list[str | tuple[Template, ...] | None] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            else:
                parts.append(None)
        return normalise(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = template_of(node.left), template_of(node.right)
        if left is None or right is None:
            return None
        return normalise((*left, *right))
    if isinstance(node, ast.IfExp):
        body, orelse = template_of(node.body), template_of(node.orelse)
        if body is None or orelse is None:
            return None
        return normalise(((body, orelse),)) if body != orelse else body
    return None


def render(template: Template) -> str:
    out: list[str] = []
    for part in template:
        if part is None:
            out.append(WILDCARD)
        elif isinstance(part, str):
            out.append(part)
        else:
            out.append("{" + "|".join(render(alternative) for alternative in part) + "}")
    return "".join(out)


def pattern(template: Template) -> str:
    """The template as a regex; callers match it whole (`fullmatch`), so it is anchored."""
    out: list[str] = []
    for part in template:
        if part is None:
            out.append(".*?")
        elif isinstance(part, str):
            out.append(re.escape(part))
        else:
            out.append("(?:" + "|".join(pattern(alternative) for alternative in part) + ")")
    return "".join(out)


# --- names and classes -----------------------------------------------------------------------------


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _absolute(source: Source, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    package = source.module.split(".")
    if not source.is_package:
        package = package[:-1]
    package = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*package, module] if module else package)


@dataclass
class _Module:
    source: Source
    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted target
    classes: dict[str, list[ast.expr]] = field(default_factory=dict)  # name -> bases


class Resolver:
    """Resolves names in a module to the dotted name of what they were defined as, following
    imports (`from a import B as C`, `import a.b as m`) and re-exports between modules."""

    def __init__(self, modules: dict[str, _Module]) -> None:
        self.modules = modules

    def canonical(self, dotted: str, depth: int = 0) -> str:
        module, _, name = dotted.rpartition(".")
        info = self.modules.get(module)
        if info is None or depth > 20 or name in info.classes or name not in info.imports:
            return dotted
        return self.canonical(info.imports[name], depth + 1)

    def resolve(self, module: _Module, node: ast.expr) -> str | None:
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in module.imports:
            target = module.imports[head]
        elif head in module.classes:
            target = f"{module.source.module}.{head}"
        else:
            return None
        return self.canonical(f"{target}.{rest}" if rest else target)


def _parse(source: Source) -> _Module:
    tree = ast.parse(source.text, filename=source.path)
    info = _Module(source, tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _absolute(source, node.module, node.level)
            for alias in node.names:
                info.imports[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    info.imports[alias.asname] = alias.name
                else:
                    head = alias.name.partition(".")[0]
                    info.imports[head] = head
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            info.classes[node.name] = list(node.bases)
    return info


def _error_classes(resolver: Resolver, roots: frozenset[str]) -> set[str]:
    """Every class defined in the sources that descends from one of `roots`, plus the roots."""
    found = set(roots)
    changed = True
    while changed:
        changed = False
        for module in resolver.modules.values():
            for name, bases in module.classes.items():
                qualified = f"{module.source.module}.{name}"
                if qualified in found:
                    continue
                if any(resolver.resolve(module, base) in found for base in bases):
                    found.add(qualified)
                    changed = True
    return found


def _message_argument(call: ast.Call, http: bool) -> ast.expr | None:
    keyword = "detail" if http else "message"
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    position = 1 if http else 0
    positional = call.args[position] if len(call.args) > position else None
    if positional is None or isinstance(positional, ast.Starred):
        return None
    if any(isinstance(arg, ast.Starred) for arg in call.args[:position]):
        return None
    return positional


def inventory(sources: Iterable[Source], base: str = BASE_ERROR) -> Inventory:
    """Every construction of an error class in `sources`, grouped by message template."""
    modules = {source.module: _parse(source) for source in sources}
    resolver = Resolver(modules)
    tmr_errors = _error_classes(resolver, frozenset({base}))
    http_errors = _error_classes(resolver, HTTP_EXCEPTIONS)
    result = Inventory(error_classes=tmr_errors | (http_errors - HTTP_EXCEPTIONS))
    for module in modules.values():
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            target = resolver.resolve(module, node.func)
            if target is None or (target not in tmr_errors and target not in http_errors):
                continue
            http = target in http_errors
            site = Site(module.source.path, node.lineno, target.rpartition(".")[2])
            argument = _message_argument(node, http)
            template = None if argument is None else template_of(argument)
            if template is None:
                if http and argument is None:
                    continue  # HTTPException without a detail answers the status phrase, not code's
                result.dynamic.append(site)
            else:
                result.add(template, site)
    return result


def load_sources(src: Path, root: Path) -> Iterator[Source]:
    """The modules under `src` (a package directory such as src/tmr), named as Python imports them."""
    for path in sorted(src.rglob("*.py")):
        relative = path.relative_to(src.parent).with_suffix("")
        parts = list(relative.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        try:
            shown = str(path.relative_to(root))
        except ValueError:
            shown = str(path)
        yield Source(".".join(parts), shown, path.read_text(encoding="utf-8"), is_package)


# --- matching --------------------------------------------------------------------------------------


def read_captured(path: Path) -> list[tuple[str, str]]:
    """(class, message) pairs; a torn or foreign line is skipped rather than failing the check."""
    captured: set[tuple[str, str]] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("message"), str):
            captured.add((str(record.get("cls", "")), record["message"]))
    return sorted(captured)


def produced(message: Message, captured: Sequence[tuple[str, str]]) -> bool:
    regex, classes = message.regex(), message.classes
    return any(cls in classes and regex.fullmatch(text) for cls, text in captured)


@dataclass
class Report:
    inventory: Inventory
    produced: set[str]
    captured: int | None  # distinct captured messages; None when nothing was captured

    @property
    def total(self) -> int:
        return len(self.inventory.messages)

    @property
    def ratio(self) -> float:
        return len(self.produced) / self.total if self.total else 1.0

    def unproduced(self) -> list[Message]:
        missing = [m for key, m in self.inventory.messages.items() if key not in self.produced]
        return sorted(missing, key=lambda m: min(m.sites))


def report(found: Inventory, captured: Sequence[tuple[str, str]] | None) -> Report:
    hits = {key for key, m in found.messages.items() if captured and produced(m, captured)}
    return Report(found, hits, None if captured is None else len(captured))


def _where(sites: Iterable[Site]) -> str:
    return ", ".join(f"{s.path}:{s.line}" for s in sorted(sites))


def as_text(result: Report, listing: bool) -> str:
    found = result.inventory
    sites = sum(len(m.sites) for m in found.messages.values())
    lines = [
        f"error messages: {result.total} distinct templates at {sites} sites "
        f"({len(found.error_classes)} error classes); {len(found.dynamic)} dynamic sites not counted"
    ]
    if result.captured is not None:
        lines.append(
            f"produced by tests: {len(result.produced)} of {result.total} "
            f"({result.ratio:.1%}) from {result.captured} distinct captured messages"
        )
    if listing:
        if result.captured is not None:
            lines.append("\nunproduced:")
            for message in result.unproduced():
                classes = "/".join(sorted(message.classes))
                lines.append(f"  {classes}: {message.text!r}\n      {_where(message.sites)}")
        lines.append("\ndynamic (message not a literal; not counted):")
        lines.extend(f"  {site.cls}: {site.path}:{site.line}" for site in sorted(found.dynamic))
    return "\n".join(lines)


def as_json(result: Report) -> str:
    def sites(items: Iterable[Site]) -> list[dict[str, object]]:
        return [{"path": s.path, "line": s.line, "class": s.cls} for s in sorted(items)]

    return json.dumps(
        {
            "total": result.total,
            "produced": len(result.produced) if result.captured is not None else None,
            "ratio": result.ratio if result.captured is not None else None,
            "captured": result.captured,
            "messages": [
                {
                    "template": key,
                    "regex": pattern(message.template),
                    "produced": key in result.produced if result.captured is not None else None,
                    "sites": sites(message.sites),
                }
                for key, message in sorted(result.inventory.messages.items())
            ],
            "dynamic": sites(result.inventory.dynamic),
        },
        indent=2,
        ensure_ascii=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--src", type=Path, default=ROOT / "src" / "tmr", help="package directory to scan")
    parser.add_argument("--captured", type=Path, help="JSON lines written under TMR_ERROR_CAPTURE")
    parser.add_argument("--list", action="store_true", help="list unproduced messages and dynamic sites")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--min", type=float, help="exit 1 when the produced share is below this (0..1)")
    args = parser.parse_args(argv)
    if args.min is not None and not 0 <= args.min <= 1:
        parser.error("--min is a fraction between 0 and 1, e.g. 0.8")
    if args.min is not None and args.captured is None:
        parser.error("--min needs --captured: the share produced is measured from a test run's capture")
    if args.captured is not None and not args.captured.is_file():
        parser.error(f"{args.captured} does not exist: run pytest with TMR_ERROR_CAPTURE={args.captured}")

    found = inventory(load_sources(args.src, ROOT))
    captured = read_captured(args.captured) if args.captured is not None else None
    result = report(found, captured)
    print(as_json(result) if args.json else as_text(result, args.list))
    if args.min is not None and result.ratio < args.min:
        print(
            f"error messages: {result.ratio:.1%} produced by tests, below the required {args.min:.0%} "
            f"(--min {args.min}); see the unproduced ones with --list",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
