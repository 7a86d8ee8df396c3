"""Static judgement of a model card's demonstration code: does it run, and does it load this model?

Pipeline: extract the fenced Python blocks → repair a block only when it does not parse, with the
smallest set of named mechanical repairs → parse and compile → resolve every import → check that a
call loads this model (its id as a string argument, directly or through a variable) → look for names
used but never bound. Candidates are every contiguous run of blocks (a notebook read in order) and
every block alone; the best verdict wins: 1.0 as written, 0.5 after mechanical repair (or with
unbound placeholder names such as `text`), 0.0 when there is no code or it cannot run.

Nothing is executed: the verdict is read from the code alone (docs/reproducibility.md).
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import itertools
import re
import symtable
import sys
import textwrap
import threading
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

# Modules (top-level import names) of the ML runtime a demo may need; value: the pip name.
_KNOWN = (
    "transformers torch torchvision torchaudio tensorflow keras tf_keras jax jaxlib flax optax datasets"
    " diffusers sentence_transformers=sentence-transformers peft accelerate huggingface_hub=huggingface-hub"
    " numpy pandas scipy sklearn=scikit-learn PIL=pillow soundfile librosa timm onnxruntime onnx optimum"
    " tokenizers safetensors evaluate spacy nltk gradio bitsandbytes trl setfit span_marker=span-marker"
    " gliner flair fasttext sentencepiece open_clip=open-clip-torch cv2=opencv-python matplotlib requests"
    " tqdm einops xformers auto_gptq=auto-gptq awq=autoawq llama_cpp=llama-cpp-python vllm ctransformers"
    " mlx mlx_lm=mlx-lm ultralytics lightning pytorch_lightning nemo=nemo-toolkit speechbrain"
    " pyannote=pyannote.audio whisper=openai-whisper faster_whisper=faster-whisper ctranslate2"
    " keras_nlp=keras-nlp keras_hub=keras-hub tensorflow_hub=tensorflow-hub bertopic stanza gensim skops"
    " joblib xgboost lightgbm yaml=pyyaml IPython=ipython ipywidgets av decord imageio"
    " skimage=scikit-image albumentations seaborn fastai paddle=paddlepaddle openvino deepspeed unsloth"
    " qwen_vl_utils=qwen-vl-utils google=protobuf"
)
KNOWN_PACKAGES: dict[str, str] = {m: pip or m for m, _, pip in (e.partition("=") for e in _KNOWN.split())}
_PIP_TO_MODULE = {pip.lower(): mod for mod, pip in KNOWN_PACKAGES.items()}

_PY_LANGS = {"python", "py", "python3", "py3", "ipython", "ipython3", "jupyter", "pycon", "python-repl"}
_NOTEBOOK_LANGS = {"ipython", "ipython3", "jupyter"}
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n.*?\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_PYTHONISH = re.compile(
    r"^\s*(?:import \w|from [\w.]+ import |def \w+\(|class \w+|>>> )|from_pretrained\(|pipeline\(", re.M
)
_PIP = re.compile(r"(?:pip3?|uv\s+pip)\s+install\s+([^`\n#]+)")
_FETCH = re.compile(r"(?:git\s+clone|(?:huggingface-cli|hf)\s+download)\s+\S*", re.I)
_HUB_PREFIXES = ("hf_hub:", "hf-hub:", "hf://", "https://huggingface.co/", "http://huggingface.co/",
                 "huggingface.co/", "https://hf.co/", "hf.co/")  # fmt: skip
# Calls whose string arguments are not a model load even when they name the model.
_NOT_LOADERS = {"load_dataset", "load_dataset_builder", "load_from_disk", "print", "display", "format",
                "join", "replace", "split", "startswith", "endswith", "lower", "upper", "info", "debug",
                "warning", "write", "log", "append"}  # fmt: skip
_IPYTHON_NAMES = {"display", "get_ipython"}
_MODULE_NAMES = {"__name__", "__file__", "__doc__", "__spec__", "__builtins__", "__loader__", "__package__"}
_BUILTINS = frozenset(dir(builtins)) | _MODULE_NAMES
_QUIET = threading.RLock()
_MAX_VALUES = 16  # string values tracked per expression
MAX_BLOCKS = 24  # only the first blocks are judged: every contiguous run of them is a candidate
MAX_CODE_CHARS = 64_000  # ... and only while their code adds up to at most this


@dataclass(frozen=True, slots=True)
class CodeBlock:
    code: str
    language: str  # normalised info-string word; "" when the fence has none
    line: int  # 1-based line of the opening fence in the card


@dataclass(frozen=True, slots=True)
class Judgement:
    score: float  # 1.0 runs as written, 0.5 after mechanical repair, 0.0 none or cannot run
    reason: str
    blocks_found: int
    repairs: tuple[str, ...] = ()
    unresolved_imports: tuple[str, ...] = ()
    loads_model: bool = False
    undefined_names: tuple[str, ...] = ()
    pip_packages: tuple[str, ...] = ()
    blocks_used: tuple[int, ...] = ()  # 0-based indices of the chosen candidate's blocks
    code: str = ""  # the chosen candidate's code after repair


def _fenced(card: str) -> Iterator[tuple[str, str, int]]:
    """(language, code, line) of every fenced block; an unclosed fence runs to the end."""
    match = _FRONT_MATTER.match(card)
    offset = card[: match.end()].count("\n") if match else 0
    lines = (card[match.end() :] if match else card).splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m or (m["fence"][0] == "`" and "`" in m["info"]):
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"])
        word = re.search(r"[\w+-]+", m["info"].lower())
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        body = [ln[min(indent, len(ln) - len(ln.lstrip())) :] for ln in lines[i + 1 : j]]
        yield (word.group(0) if word else ""), "\n".join(body), offset + i + 1
        i = j + 1


def extract_code_blocks(card_markdown: str) -> list[CodeBlock]:
    """The card's Python blocks in order: tagged python-like, or untagged but Python-looking."""
    return [
        CodeBlock(code, lang, line)
        for lang, code, line in _fenced(card_markdown)
        if lang in _PY_LANGS or (lang == "" and _PYTHONISH.search(code))
    ]


def _pip_name(token: str) -> str | None:
    token = token.strip("'\"")
    if token.startswith("git+"):
        egg = re.search(r"#egg=([\w.-]+)", token)
        return egg.group(1) if egg else token.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1]
    name = re.match(r"[A-Za-z0-9][\w.-]*", token)
    return name.group(0) if name and "/" not in token and not token.endswith(".txt") else None


def pip_packages(card_markdown: str) -> tuple[str, ...]:
    """Packages the card tells to `pip install` (shell blocks, `!pip` lines, prose), in order."""
    found: dict[str, None] = {}
    for match in _PIP.finditer(card_markdown):
        skip_next = False
        for token in match.group(1).split():
            if skip_next or token.startswith("-"):
                skip_next = token in {"-r", "-e", "-c", "-i", "--index-url", "--extra-index-url"}
                continue
            if name := _pip_name(token):
                found.setdefault(name, None)
    return tuple(found)


def _module_of(pip: str) -> str:
    return _PIP_TO_MODULE.get(pip.lower(), pip.lower().replace("-", "_").replace(".", "_"))


def strip_doctest_prompts(code: str) -> str:
    """`>>> x` and `... x` become `x`; the output lines between prompts are dropped."""
    if not re.search(r"^\s*>>>(?: |$)", code, re.M):
        return code
    kept = [m.group(1) for m in re.finditer(r"^\s*(?:>>>|\.\.\.)(?: (.*)|$)", code, re.M)]
    return "\n".join(line or "" for line in kept)


def strip_notebook_syntax(code: str) -> str:
    """Drop IPython shell escapes and magics: `!pip install …`, `%pip …`, `%%capture`."""
    return "\n".join(ln for ln in code.splitlines() if not re.match(r"\s*(?:!|%%?\w)", ln))


def replace_smart_quotes(code: str) -> str:
    """Typographic quotes to ASCII; non-breaking and zero-width spaces to plain ones."""
    table = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'"})
    return code.translate(table).replace("\u00a0", " ").replace("\u200b", "")


def dedent(code: str) -> str:
    """Remove the indentation every line shares (code pasted from inside a list or function)."""
    return textwrap.dedent(code)


def fix_print_statements(code: str) -> str:
    """Python 2 `print x` / `print "a", b` / bare `print` become calls."""
    code = re.sub(
        r"^([ \t]*)print[ \t]+(?![\s(=.\[,)])(.+?)[ \t]*,?[ \t]*$", r"\1print(\2)", code, flags=re.M
    )
    return re.sub(r"^([ \t]*)print[ \t]*$", r"\1print()", code, flags=re.M)


def remove_ellipsis_placeholders(code: str) -> str:
    """Drop `...`/`…`/`[...]` lines standing for omitted code (not a block's only body)."""
    out: list[str] = []
    for line in code.splitlines():
        sole_body = bool(out) and out[-1].rstrip().endswith(":")
        if line.strip() not in {"...", "…", "[...]", "(...)"} or sole_body:
            out.append(line)
    return "\n".join(out).replace("…", "...")


REPAIRS: tuple[Callable[[str], str], ...] = (
    strip_doctest_prompts,
    strip_notebook_syntax,
    replace_smart_quotes,
    dedent,
    fix_print_statements,
    remove_ellipsis_placeholders,
)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence compiler warnings (invalid escapes in snippets). `catch_warnings` swaps process-wide
    state, so threads take turns: interleaved exits could leave warnings ignored for good."""
    with _QUIET, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _parse(code: str) -> ast.Module:
    with _quiet():
        return ast.parse(code)


def _syntax_error(code: str) -> str | None:
    """None when the code parses and compiles (top-level `await` allowed, as in a notebook)."""
    try:
        with _quiet():
            compile(code, "<card>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except SyntaxError as exc:
        return f"{exc.msg} (line {exc.lineno})"
    except (ValueError, RecursionError, MemoryError) as exc:
        return type(exc).__name__
    return None


def repair(code: str) -> tuple[str, tuple[str, ...], str | None]:
    """(code, repairs applied, remaining syntax error): the smallest set of repairs that makes the
    code parse, applied in `REPAIRS` order; none when it parses as written."""
    error = _syntax_error(code)
    if error is None:
        return code, (), None
    for size in range(1, len(REPAIRS) + 1):
        for subset in itertools.combinations(REPAIRS, size):
            fixed = code
            for fn in subset:
                fixed = fn(fixed)
            if fixed != code and _syntax_error(fixed) is None:
                return fixed, tuple(fn.__name__ for fn in subset), None
    return code, (), error


def _catches_import_error(node: ast.Try) -> bool:
    names = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
    kinds = [k for h in node.handlers for k in (h.type.elts if isinstance(h.type, ast.Tuple) else [h.type])]
    return any(k is None or (isinstance(k, ast.Name) and k.id in names) for k in kinds)


def imported_modules(tree: ast.AST) -> list[str]:
    """Top-level names of the modules imported unconditionally (not inside `try: … except
    ImportError`); a relative import is reported as `.name`."""
    optional = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.Try) and _catches_import_error(node)
        for stmt in node.body
        for sub in ast.walk(stmt)
    }
    found: dict[str, None] = {}
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.setdefault(alias.name.split(".")[0], None)
        elif isinstance(node, ast.ImportFrom):
            top = (node.module or "").split(".")[0]
            found.setdefault("." + top if node.level else top, None)
    return list(found)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def resolves(module: str, local_modules: set[str], pip_modules: set[str]) -> bool:
    """Stdlib, a known ML/runtime package, a card-installed package, a repo module, or installed here."""
    if module.startswith("."):
        return False  # a relative import cannot run as a script
    known = sys.stdlib_module_names | KNOWN_PACKAGES.keys() | local_modules | pip_modules
    return module in known or module.lower() in pip_modules or _importable(module)


def _strings(node: ast.AST, env: dict[str, set[str]]) -> set[str]:
    """The string values an expression can have: constants, known variables, `+` and f-strings."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Name):
        return env.get(node.id, set())
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        out = {a + b for a in _strings(node.left, env) for b in _strings(node.right, env)}
        return out if len(out) <= _MAX_VALUES else set()
    if isinstance(node, ast.FormattedValue):
        return _strings(node.value, env)
    if isinstance(node, ast.JoinedStr):
        out = {""}
        for part in node.values:
            out = {a + b for a in out for b in _strings(part, env)}
        return out if len(out) <= _MAX_VALUES else set()
    return set()


def _bindings(tree: ast.AST) -> list[tuple[str, ast.expr]]:
    """(name, value) of the assignments and parameter defaults that may bind a string."""
    out: list[tuple[str, ast.expr]] = []
    for node in ast.walk(tree):
        todo: list[tuple[ast.expr, ast.expr | None]] = []
        if isinstance(node, ast.Assign | ast.AnnAssign):
            todo = [
                (t, node.value) for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            ]
        elif isinstance(node, ast.arguments):
            pos = node.posonlyargs + node.args
            defaults = zip(pos[len(pos) - len(node.defaults) :], node.defaults, strict=True)
            todo = [(ast.Name(a.arg), d) for a, d in defaults]
            todo += [(ast.Name(a.arg), d) for a, d in zip(node.kwonlyargs, node.kw_defaults, strict=True)]
        while todo:
            target, value = todo.pop()
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
                todo += zip(target.elts, value.elts, strict=False)
            elif isinstance(target, ast.Name) and value is not None:
                out.append((target.id, value))
    return out


def _env(bindings: Iterable[tuple[str, ast.expr]]) -> dict[str, set[str]]:
    """The string values of names; two passes so that chains resolve whatever their order."""
    env: dict[str, set[str]] = {}
    pairs = list(bindings)
    for _ in range(2):
        for name, value in pairs:
            if values := _strings(value, env):
                env.setdefault(name, set()).update(values)
    return env


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _loader_calls(tree: ast.AST) -> list[tuple[str, tuple[ast.expr, ...]]]:
    """(name, arguments) of every call that may load a model (the denylist excluded)."""
    return [
        (_call_name(node) or "call", (*node.args, *(k.value for k in node.keywords)))
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _call_name(node) not in _NOT_LOADERS
    ]


def _loads(calls: Iterable[tuple[str, tuple[ast.expr, ...]]], env: dict[str, set[str]],
           is_this_model: Callable[[str], bool]) -> list[str]:  # fmt: skip
    return [name for name, args in calls if any(is_this_model(s) for a in args for s in _strings(a, env))]


def model_loads(tree: ast.AST, is_this_model: Callable[[str], bool]) -> list[str]:
    """Names of the calls that take this model's id as an argument, directly or via variables."""
    return _loads(_loader_calls(tree), _env(_bindings(tree)), is_this_model)


def model_matcher(repo_id: str, model_name: str, fetched: bool) -> Callable[[str], bool]:
    """Case-insensitive: `owner/name` (also under a Hub prefix or with a file path after it) or the
    bare name; a local path (`.`, `./name`) only when the card clones or downloads the repository."""
    rid = repo_id.strip().strip("/").lower()
    names = {n for n in (model_name.strip().lower(), rid.rsplit("/", 1)[-1]) if n}

    def match(value: str) -> bool:
        s = value.strip().lower()
        for prefix in _HUB_PREFIXES:
            s = s.removeprefix(prefix)
        if s in names or (rid and (s == rid or s.startswith(rid + "/") or s == "models/" + rid)):
            return True
        return fetched and bool(s) and s.removeprefix("./").rstrip("/") in {"", ".", *names}

    return match


def _scope_names(code: str) -> tuple[set[str], set[str]]:
    """(names bound at module level, names read as globals); `*` is bound by a star import."""
    bound = {"*"} if re.search(r"^\s*from\s+[\w.]+\s+import\s+\*", code, re.M) else set()
    with _quiet():
        try:
            tables, read = [symtable.symtable(code, "<card>", "exec")], set()
        except (SyntaxError, ValueError, RecursionError):
            return {"*"}, set()
    top = tables[0]
    while tables:
        table = tables.pop()
        tables.extend(table.get_children())
        for sym in table.get_symbols():
            binds = sym.is_assigned() or sym.is_imported() or sym.is_namespace()
            if binds and (table is top or sym.is_declared_global()):
                bound.add(sym.get_name())
            if sym.is_referenced() and sym.is_global():
                read.add(sym.get_name())
    return bound, read


def _unbound(bound: Collection[str], read: Collection[str], allowed: Collection[str]) -> list[str]:
    return [] if "*" in bound else sorted(set(read) - set(bound) - _BUILTINS - set(allowed))


def undefined_names(code: str, allowed: Collection[str] = ()) -> list[str]:
    """Names read but never bound at module level, imported, or builtin (order is not checked;
    a `from x import *` disables the check)."""
    return _unbound(*_scope_names(code), allowed)


@dataclass(frozen=True, slots=True)
class _Facts:
    """What one block contributes to any run of blocks it is part of."""

    code: str
    repairs: tuple[str, ...]
    error: str | None
    imports: tuple[str, ...] = ()
    bindings: tuple[tuple[str, ast.expr], ...] = ()
    calls: tuple[tuple[str, tuple[ast.expr, ...]], ...] = ()
    bound: frozenset[str] = frozenset()
    read: frozenset[str] = frozenset()


def _facts(block: CodeBlock) -> _Facts:
    code, repairs, error = repair(block.code)
    if error:
        return _Facts(code, repairs, error)
    tree = _parse(code)
    bound, read = _scope_names(code)
    return _Facts(code, repairs, None, tuple(imported_modules(tree)), tuple(_bindings(tree)),
                  tuple(_loader_calls(tree)), frozenset(bound), frozenset(read))  # fmt: skip


def _candidate(
    span: range,
    blocks: list[CodeBlock],
    facts: list[_Facts],
    context: tuple[str, Callable[[str], bool], set[str]],
) -> Judgement:
    """The verdict on the blocks of `span` run in order, as one script."""
    model, is_this_model, unresolvable = context
    label = f"block {span[0] + 1}" if len(span) == 1 else f"blocks {span[0] + 1}-{span[-1] + 1}"
    parts = [facts[k] for k in span]
    base = Judgement(0.0, "", len(blocks), blocks_used=tuple(span))
    for k, part in zip(span, parts, strict=True):
        if part.error:
            where = f" (block {k + 1})" if len(span) > 1 else ""
            return replace(base, reason=f"{label} does not parse{where}, even after repair: {part.error}")
    code = "\n\n".join(part.code for part in parts)
    if len(span) > 1 and (error := _syntax_error(code)):  # e.g. a `from __future__` import late
        return replace(base, reason=f"{label} do not compile when run in order: {error}")
    repairs = tuple(dict.fromkeys(r for part in parts for r in part.repairs))
    unresolved = tuple(
        m for m in dict.fromkeys(m for part in parts for m in part.imports) if m in unresolvable
    )
    loads = _loads(
        (c for part in parts for c in part.calls), _env(b for p in parts for b in p.bindings), is_this_model
    )
    notebook = "strip_notebook_syntax" in repairs or any(blocks[k].language in _NOTEBOOK_LANGS for k in span)
    bound, read = set().union(*(p.bound for p in parts)), set().union(*(p.read for p in parts))
    undefined = tuple(_unbound(bound, read, _IPYTHON_NAMES if notebook else ()))
    base = replace(base, repairs=repairs, unresolved_imports=unresolved, loads_model=bool(loads),
                   undefined_names=undefined, code=code)  # fmt: skip
    if unresolved:
        return replace(base, reason=f"{label} cannot resolve import {', '.join(unresolved)}")
    if not loads:
        return replace(base, reason=f"{label} does not load {model}")
    if not repairs and not undefined:
        return replace(base, score=1.0, reason=f"{label} runs as written and loads {model} ({loads[0]})")
    needs = [*repairs, *(["bind undefined names " + ", ".join(undefined)] if undefined else [])]
    return replace(
        base, score=0.5, reason=f"{label} loads {model} ({loads[0]}) after repair: {'; '.join(needs)}"
    )


def _rank(j: Judgement) -> tuple[float, bool, bool, int, int, int, int]:
    return (j.score, j.loads_model, bool(j.code), -len(j.unresolved_imports), -len(j.undefined_names),
            -len(j.repairs), len(j.blocks_used))  # fmt: skip


def judge(card_markdown: str, repo_id: str, model_name: str, local_modules: set[str]) -> Judgement:
    """Judge the card's demonstration code for the model `repo_id` (`owner/name`, may be "") named
    `model_name`; `local_modules` are the top-level modules the model repository ships."""
    blocks = extract_code_blocks(card_markdown)
    pips = pip_packages(card_markdown)
    model = repo_id or model_name
    sizes = itertools.accumulate(len(b.code) for b in blocks)
    kept = [b for b, size in zip(blocks[:MAX_BLOCKS], sizes, strict=False) if size <= MAX_CODE_CHARS]
    if not blocks:
        return Judgement(0.0, "the card has no Python code", 0, pip_packages=pips)
    if not model or not kept:
        why = "the model's id is unknown" if not model else "the card's code is too large to judge"
        return Judgement(0.0, why, len(blocks), pip_packages=pips)
    fetches = (m.group(0).lower() for m in _FETCH.finditer(card_markdown))
    is_this_model = model_matcher(
        repo_id, model_name, bool(repo_id) and any(repo_id.lower() in f for f in fetches)
    )
    facts = [_facts(b) for b in kept]
    pip_modules = {_module_of(p) for p in pips}
    imports = {m for f in facts for m in f.imports}
    unresolvable = {m for m in imports if not resolves(m, local_modules, pip_modules)}
    spans = [range(i, j) for i in range(len(kept)) for j in range(i + 1, len(kept) + 1)]
    best = max((_candidate(s, blocks, facts, (model, is_this_model, unresolvable)) for s in spans), key=_rank)
    return replace(best, pip_packages=pips)
