"""The static code judge: extraction, mechanical repairs, import resolution, the loads-this-model check."""

from __future__ import annotations

import ast

import pytest

from tmr.rating import codecheck
from tmr.rating.codecheck import (
    dedent,
    extract_code_blocks,
    fix_print_statements,
    imported_modules,
    judge,
    model_loads,
    model_matcher,
    pip_packages,
    remove_ellipsis_placeholders,
    repair,
    replace_smart_quotes,
    resolves,
    strip_doctest_prompts,
    strip_notebook_syntax,
    undefined_names,
)

BERT = "google-bert/bert-base-uncased"


def fence(code: str, lang: str = "python", ticks: str = "```") -> str:
    return f"{ticks}{lang}\n{code.strip()}\n{ticks}\n"


def loads(code: str, repo_id: str = "owner/name", fetched: bool = False) -> list[str]:
    matcher = model_matcher(repo_id, repo_id.rsplit("/", 1)[-1], fetched)
    return model_loads(ast.parse(code), matcher)


# -- extraction ---------------------------------------------------------------------------------


def test_blocks_are_extracted_in_order_with_language_and_line() -> None:
    card = (
        "---\nlicense: mit\n---\n# Model\n"
        + fence("import torch\nx = 1")
        + "text\n"
        + fence("y = 2", lang="py", ticks="~~~")
        + fence("pip install transformers", lang="bash")
        + fence('{"a": 1}', lang="json")
        + fence("from transformers import pipeline\npipe = pipeline('x')", lang="")
        + fence("Hello world, this is output", lang="")
    )
    blocks = extract_code_blocks(card)
    assert [b.code for b in blocks] == [
        "import torch\nx = 1",
        "y = 2",
        "from transformers import pipeline\npipe = pipeline('x')",
    ]
    assert [b.language for b in blocks] == ["python", "py", ""]
    assert blocks[0].line == 5  # counted in the whole card, front matter included


def test_fence_info_variants_and_nested_fences() -> None:
    card = (
        "```{.python title='demo'}\na = 1\n```\n"
        "  ```Python3\n  b = 2\n    c = 3\n  ```\n"  # fence indented inside a list item
        "````python\nd = '```'\n```\ne = 5\n````\n"  # a longer fence holds a shorter one
        "```python\nunclosed = True\n"
    )
    assert [b.code for b in extract_code_blocks(card)] == [
        "a = 1",
        "b = 2\n  c = 3",
        "d = '```'\n```\ne = 5",
        "unclosed = True",
    ]


def test_inline_triple_backticks_are_not_a_fence() -> None:
    assert extract_code_blocks("Use ```pip install x``` first.\nimport os\n") == []


def test_pip_packages_come_from_shell_blocks_magics_and_prose() -> None:
    card = (
        fence("pip install -U transformers>=4.40 'accelerate[torch]' -r requirements.txt", lang="bash")
        + fence(
            "!pip install -q git+https://github.com/huggingface/peft.git\n%pip install sentence-transformers"
        )
        + "Or run `python -m pip install --index-url https://x.org/simple my-lib`.\n"
    )
    assert pip_packages(card) == ("transformers", "accelerate", "peft", "sentence-transformers", "my-lib")


# -- repairs ------------------------------------------------------------------------------------


def test_doctest_prompts_keep_code_and_drop_output() -> None:
    code = ">>> def f(x):\n...     return x\n>>> f(2)\n2\n>>> print('a')\na\n"
    assert strip_doctest_prompts(code) == "def f(x):\n    return x\nf(2)\nprint('a')"
    assert strip_doctest_prompts("x = 1\n") == "x = 1\n"


def test_notebook_syntax_is_stripped() -> None:
    code = "%%capture\n!pip install transformers\n%matplotlib inline\nimport torch\nx = 10 % 3\n"
    assert strip_notebook_syntax(code) == "import torch\nx = 10 % 3"


def test_print_statements_become_calls() -> None:
    code = 'print "hello", name\nif x:\n    print x,\nprint\nprint(y)\nprinter = 1\nprint (z)'
    assert fix_print_statements(code) == (
        'print("hello", name)\nif x:\n    print(x)\nprint()\nprint(y)\nprinter = 1\nprint (z)'
    )


def test_smart_quotes_dedent_and_ellipsis() -> None:
    assert replace_smart_quotes("s = \u201chi\u201d + \u2018x\u2019\u00a0") == "s = \"hi\" + 'x' "
    assert dedent("    a = 1\n    b = 2\n") == "a = 1\nb = 2\n"
    code = "x = 1\n    ...\ndef f():\n    ...\ny = g(\u2026)"
    assert remove_ellipsis_placeholders(code) == "x = 1\ndef f():\n    ...\ny = g(...)"


def test_repair_uses_the_smallest_set_and_only_when_needed() -> None:
    assert repair("x = 1\n") == ("x = 1\n", (), None)
    fixed, names, error = repair(">>> import os\n>>> print os.sep\n/\n")
    assert (fixed, names, error) == (
        "import os\nprint(os.sep)",
        ("strip_doctest_prompts", "fix_print_statements"),
        None,
    )
    assert repair("    import os\n    os.getcwd()\n")[1] == ("dedent",)
    assert repair("s = \u201chello\u201d\n")[1] == ("replace_smart_quotes",)
    _, names, error = repair("def broken(:\n    pass\n")
    assert names == ()
    assert error is not None
    assert "line 1" in error


def test_invalid_escape_sequences_do_not_warn() -> None:
    # pytest runs with filterwarnings=error: a SyntaxWarning would fail this test.
    assert repair('path = "C:\\data\\model"\n')[2] is None
    card = fence(
        'import re\nfrom transformers import pipeline\npat = re.compile("\\d+")\npipeline(model="owner/name")'
    )
    assert judge(card, "owner/name", "name", set()).score == 1.0


# -- imports ------------------------------------------------------------------------------------


def test_imported_modules_skips_optional_imports() -> None:
    tree = ast.parse(
        "import os.path, torch\nfrom transformers.models import bert\nfrom . import local\n"
        "try:\n    import flash_attn\nexcept ImportError:\n    flash_attn = None\n"
        "def f():\n    import numpy as np\n"
    )
    assert imported_modules(tree) == ["os", "torch", "transformers", ".", "numpy"]


def test_resolution_sources() -> None:
    assert resolves("json", set(), set())  # stdlib
    assert resolves("sentence_transformers", set(), set())  # curated ML list, not installed here
    assert resolves("pydantic", set(), set())  # importable in this environment
    assert resolves("modeling_custom", {"modeling_custom"}, set())  # shipped in the repository
    assert resolves("my_lib", set(), {"my_lib"})  # the card pip-installs it
    assert not resolves("frobnicate_ml_magic", set(), set())
    assert not resolves(".modeling", {"modeling"}, set())  # relative: cannot run as a script
    assert codecheck.KNOWN_PACKAGES["sklearn"] == "scikit-learn"
    assert len(codecheck.KNOWN_PACKAGES) >= 60


# -- loads this model -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        'AutoModel.from_pretrained("owner/name")',
        'AutoModel.from_pretrained("Owner/NAME", revision="main")',
        'pipeline("text-classification", model="owner/name")',
        'SentenceTransformer("name")',
        'hf_hub_download(repo_id="owner/name", filename="model.pt")',
        'snapshot_download("owner/name")',
        'timm.create_model("hf_hub:owner/name", pretrained=True)',
        'torch.load(hf_hub_download("owner/name", "w.pt"))',
        'model_id = "owner/name"\nm = AutoModel.from_pretrained(model_id)',
        'org = "owner"\nrepo: str = f"{org}/name"\nm = AutoModel.from_pretrained(repo)',
        'base = "owner/"\nPeftModel.from_pretrained(model, base + "name")',
        'def load(model_id="owner/name"):\n    return AutoModel.from_pretrained(model_id)',
        'a, b = "x/y", "owner/name"\nAutoModel.from_pretrained(b)',
        'StableDiffusionPipeline.from_pretrained("https://huggingface.co/owner/name")',
    ],
)
def test_loads_this_model(code: str) -> None:
    assert loads(code)


@pytest.mark.parametrize(
    "code",
    [
        'AutoModel.from_pretrained("other/model")',
        'AutoModel.from_pretrained("someone-else/name")',  # a fork or quantisation is another model
        'print("owner/name")',
        'ds = load_dataset("owner/name")',
        'model_id = "owner/name"',
        "# from_pretrained('owner/name')\nAutoModel.from_pretrained(path)",
        'AutoModel.from_pretrained(".")',  # a local path, without the card cloning the repository
    ],
)
def test_does_not_load_this_model(code: str) -> None:
    assert loads(code) == []


def test_local_path_counts_only_when_the_repository_is_fetched() -> None:
    assert loads('PeftModel.from_pretrained(base, ".")', fetched=True) == ["from_pretrained"]
    assert loads('AutoModel.from_pretrained("./name")', fetched=True)
    assert loads('AutoModel.from_pretrained("./other")', fetched=True) == []
    assert loads('AutoModel.from_pretrained("")', fetched=True) == []


# -- undefined names ----------------------------------------------------------------------------


def test_undefined_names() -> None:
    code = (
        "import torch\nfrom transformers import AutoModel\nmodel = AutoModel.from_pretrained('x')\n"
        "def run(batch):\n    global seen\n    seen = True\n    return model(batch, **kwargs)\n"
        "out = [tokenizer(t) for t in texts]\nprint(len(out), __name__, seen)\n"
    )
    assert undefined_names(code) == ["kwargs", "texts", "tokenizer"]
    assert undefined_names("display(1)") == ["display"]
    assert undefined_names("display(1)", {"display"}) == []
    assert undefined_names("from os.path import *\nprint(join('a'))") == []


# -- judge --------------------------------------------------------------------------------------


def test_runs_as_written() -> None:
    card = fence('from transformers import AutoModel\nmodel = AutoModel.from_pretrained("owner/name")')
    j = judge(card, "owner/name", "name", set())
    assert (j.score, j.loads_model, j.repairs, j.blocks_found) == (1.0, True, (), 1)
    assert "runs as written" in j.reason


def test_notebook_blocks_are_judged_in_order() -> None:
    imports = "import torch\nfrom transformers import AutoTokenizer, AutoModel"
    load = (
        'tok = AutoTokenizer.from_pretrained("owner/name")\nmodel = AutoModel.from_pretrained("owner/name")'
    )
    use = 'inputs = tok("hi", return_tensors="pt")\nwith torch.no_grad():\n    out = model(**inputs)'
    j = judge(fence(imports) + "Then load it:\n" + fence(load) + fence(use), "owner/name", "name", set())
    assert (j.score, j.blocks_used, j.undefined_names) == (1.0, (0, 1, 2), ())
    assert j.code == f"{imports}\n\n{load}\n\n{use}"
    alone = judge(fence(load), "owner/name", "name", set())
    assert alone.score == 0.5  # the loading block alone uses names it does not import
    assert alone.undefined_names == ("AutoModel", "AutoTokenizer")


def test_an_unparseable_block_does_not_spoil_a_good_one() -> None:
    card = fence('from transformers import pipeline\np = pipeline("fill-mask", model="owner/name")') + fence(
        "model = <your model here>"
    )
    j = judge(card, "owner/name", "name", set())
    assert (j.score, j.blocks_used) == (1.0, (0,))


@pytest.mark.parametrize(
    ("card", "score", "in_reason"),
    [
        ("", 0.0, "no Python code"),
        ("# Model\nJust prose.\n" + fence("pip install transformers", lang="bash"), 0.0, "no Python code"),
        (
            fence("import frobnicate_ml_magic\nfrobnicate_ml_magic.load('owner/name')"),
            0.0,
            "frobnicate_ml_magic",
        ),
        (
            fence("from transformers import AutoModel\nm = AutoModel.from_pretrained('bert-base-cased')"),
            0.0,
            "does not load",
        ),
        (
            fence("from transformers import AutoModel\nm = AutoModel.from_pretrained(('owner/name'"),
            0.0,
            "does not parse",
        ),
        (
            fence(">>> from transformers import pipeline\n>>> pipeline(model='owner/name')\n<Pipeline>"),
            0.5,
            "strip_doctest",
        ),
    ],
)
def test_verdicts(card: str, score: float, in_reason: str) -> None:
    j = judge(card, "owner/name", "name", set())
    assert j.score == score
    assert in_reason in j.reason


def test_unknown_id_scores_zero() -> None:
    card = fence("from transformers import AutoModel\nm = AutoModel.from_pretrained('owner/name')")
    assert judge(card, "", "", set()).score == 0.0
    assert judge(card, "", "name", set()).score == 0.0  # the bare name only matches the bare name
    assert judge(card.replace("owner/name", "name"), "", "name", set()).score == 1.0


def test_pip_installed_package_and_local_module_resolve() -> None:
    code = (
        "import acme_vision\nfrom modeling_acme import AcmeModel\nm = AcmeModel.from_pretrained('owner/name')"
    )
    assert judge(fence(code), "owner/name", "name", set()).unresolved_imports == (
        "acme_vision",
        "modeling_acme",
    )
    card = fence("pip install acme-vision", lang="bash") + fence(code)
    j = judge(card, "owner/name", "name", {"modeling_acme"})
    assert (j.score, j.unresolved_imports, j.pip_packages) == (1.0, (), ("acme-vision",))


def test_clone_then_local_path() -> None:
    card = fence("git clone https://huggingface.co/owner/name", lang="sh") + fence(
        "from transformers import AutoModel\nm = AutoModel.from_pretrained('./name')"
    )
    assert judge(card, "owner/name", "name", set()).score == 1.0
    assert judge(card.replace("owner/name", "owner/other"), "owner/name", "name", set()).score == 0.0


def test_code_beyond_the_bounds_is_not_judged() -> None:
    good = fence("from transformers import AutoModel\nAutoModel.from_pretrained('owner/name')")
    huge = fence("x = 1\n" * (codecheck.MAX_CODE_CHARS // 6 + 1))
    assert judge(good + huge, "owner/name", "name", set()).score == 1.0
    too_large = judge(huge + good, "owner/name", "name", set())
    assert (too_large.score, too_large.blocks_found) == (0.0, 2)
    assert "too large" in too_large.reason
    late = judge(fence("x = 1") * codecheck.MAX_BLOCKS + good, "owner/name", "name", set())
    assert late.score == 0.0  # only the first MAX_BLOCKS blocks are judged
