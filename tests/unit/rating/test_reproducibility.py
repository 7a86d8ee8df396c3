"""The reproducibility metric on realistic model cards."""

from __future__ import annotations

from tests.unit.rating.fixtures import bare_model
from tmr.rating.evidence import FileFact, ModelEvidence
from tmr.rating.metrics import reproducibility
from tmr.rating.metrics.reproducibility import compute, explain, hub_repo_id, local_modules

BERT_CARD = """---
language: en
license: apache-2.0
datasets:
- bookcorpus
- wikipedia
---

# BERT base model (uncased)

You can use this model directly with a pipeline for masked language modeling:

```python
>>> from transformers import pipeline
>>> unmasker = pipeline('fill-mask', model='bert-base-uncased')
>>> unmasker("Hello I'm a [MASK] model.")

[{'sequence': "[CLS] hello i'm a fashion model. [SEP]",
  'score': 0.1073106899857521,
  'token': 4827,
  'token_str': 'fashion'}]
```

Here is how to use this model to get the features of a given text in PyTorch:

```python
from transformers import BertTokenizer, BertModel
tokenizer = BertTokenizer.from_pretrained('bert-base-uncased')
model = BertModel.from_pretrained("bert-base-uncased")
text = "Replace me by any text you'd like."
encoded_input = tokenizer(text, return_tensors='pt')
output = model(**encoded_input)
```
"""

WHISPER_CARD = """---
license: apache-2.0
pipeline_tag: automatic-speech-recognition
---
# Whisper

First, install the Transformers library:

```bash
pip install --upgrade pip
pip install --upgrade transformers datasets[audio] accelerate
```

```python
import torch
from transformers import AutoModelForSpeechSeq2Seq, AutoProcessor, pipeline
from datasets import load_dataset

device = "cuda:0" if torch.cuda.is_available() else "cpu"
torch_dtype = torch.float16 if torch.cuda.is_available() else torch.float32

model_id = "openai/whisper-large-v3"

model = AutoModelForSpeechSeq2Seq.from_pretrained(
    model_id, torch_dtype=torch_dtype, low_cpu_mem_usage=True, use_safetensors=True
)
model.to(device)

processor = AutoProcessor.from_pretrained(model_id)

pipe = pipeline(
    "automatic-speech-recognition",
    model=model,
    tokenizer=processor.tokenizer,
    feature_extractor=processor.feature_extractor,
    torch_dtype=torch_dtype,
    device=device,
)

dataset = load_dataset("distil-whisper/librispeech_long", "clean", split="validation")
sample = dataset[0]["audio"]

result = pipe(sample)
print(result["text"])
```
"""

SBERT_CARD = """# all-MiniLM-L6-v2

Using this model becomes easy when you have [sentence-transformers](https://www.SBERT.net) installed:

```
pip install -U sentence-transformers
```

Then you can use the model like this:
```python
from sentence_transformers import SentenceTransformer
sentences = ["This is an example sentence", "Each sentence is converted"]

model = SentenceTransformer('sentence-transformers/all-MiniLM-L6-v2')
embeddings = model.encode(sentences)
print(embeddings)
```
"""

LORA_CARD = """---
library_name: peft
base_model: meta-llama/Llama-2-7b-hf
---
## How to Get Started with the Model

```python
!pip install -q peft transformers accelerate bitsandbytes

from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

base_model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-7b-hf", load_in_8bit=True)
model = PeftModel.from_pretrained(base_model, "acme/llama2-7b-sql-lora")
tokenizer = AutoTokenizer.from_pretrained("meta-llama/Llama-2-7b-hf")
```
"""


def evidence(
    readme: str,
    url: str = "https://huggingface.co/owner/name",
    name: str = "name",
    files: tuple[str, ...] = (),
    card_error: str | None = None,
) -> ModelEvidence:
    return bare_model(
        name=name,
        url=url,
        readme=readme,
        card_error=card_error,
        files=tuple(FileFact(path, 100, "code" if path.endswith(".py") else "other") for path in files),
    )


def test_bert_card_runs_as_written() -> None:
    ev = evidence(BERT_CARD, "https://huggingface.co/google-bert/bert-base-uncased", "bert-base-uncased")
    j = explain(ev)
    assert compute(ev) == 1.0
    assert j.loads_model
    assert j.blocks_found == 2
    assert j.blocks_used == (1,)  # the PyTorch block; the doctest block alone would need repair


def test_bert_doctest_alone_needs_repair() -> None:
    doctest_only = BERT_CARD.split("Here is how")[0]
    j = explain(
        evidence(doctest_only, "https://huggingface.co/google-bert/bert-base-uncased", "bert-base-uncased")
    )
    assert j.score == 0.5
    assert j.repairs == ("strip_doctest_prompts",)
    assert "'score'" not in j.code  # the doctest output is not code


def test_whisper_card_loads_through_a_variable() -> None:
    ev = evidence(
        WHISPER_CARD, "https://huggingface.co/openai/whisper-large-v3/tree/main", "whisper-large-v3"
    )
    j = explain(ev)
    assert (j.score, j.loads_model, j.unresolved_imports) == (1.0, True, ())
    assert j.pip_packages == ("pip", "transformers", "datasets", "accelerate")


def test_whisper_card_on_another_model_does_not_load_it() -> None:
    # A fine-tune that copied the base model's card: the code loads the base, not this model.
    ev = evidence(
        WHISPER_CARD, "https://huggingface.co/someone/whisper-large-v3-dutch", "whisper-large-v3-dutch"
    )
    j = explain(ev)
    assert j.score == 0.0
    assert not j.loads_model
    assert "does not load someone/whisper-large-v3-dutch" in j.reason


def test_sentence_transformers_card() -> None:
    url = "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2"
    assert compute(evidence(SBERT_CARD, url, "all-MiniLM-L6-v2")) == 1.0
    py2 = SBERT_CARD.replace("print(embeddings)", "print embeddings")
    j = explain(evidence(py2, url, "all-MiniLM-L6-v2"))
    assert (j.score, j.repairs) == (0.5, ("fix_print_statements",))


def test_lora_adapter_with_notebook_install_needs_repair() -> None:
    ev = evidence(LORA_CARD, "https://huggingface.co/acme/llama2-7b-sql-lora", "llama2-7b-sql-lora")
    j = explain(ev)
    assert (j.score, j.repairs, j.loads_model) == (0.5, ("strip_notebook_syntax",), True)
    assert "bitsandbytes" in j.pip_packages
    clean = LORA_CARD.replace("!pip install -q peft transformers accelerate bitsandbytes\n", "")
    assert compute(evidence(clean, "https://huggingface.co/acme/llama2-7b-sql-lora")) == 1.0
    # The same card judged for its base model: it loads Llama-2 too, through from_pretrained.
    assert compute(evidence(clean, "https://huggingface.co/meta-llama/Llama-2-7b-hf")) == 1.0
    assert compute(evidence(clean, "https://huggingface.co/acme/other-lora")) == 0.0


def test_unknown_package_cannot_run() -> None:
    card = "```python\nimport frobnicate_ml_magic\nmodel = frobnicate_ml_magic.load('owner/name')\n```\n"
    j = explain(evidence(card))
    assert (j.score, j.unresolved_imports) == (0.0, ("frobnicate_ml_magic",))


def test_local_module_shipped_in_the_repository_resolves() -> None:
    card = (
        "```python\nfrom modeling_acme import AcmeForCausalLM\n"
        "model = AcmeForCausalLM.from_pretrained('owner/name', trust_remote_code=True)\n```\n"
    )
    assert compute(evidence(card, files=("config.json", "model.safetensors"))) == 0.0
    assert compute(evidence(card, files=("config.json", "modeling_acme.py"))) == 1.0


def test_unparseable_even_after_repair() -> None:
    card = "```python\nmodel = AutoModel.from_pretrained(<path to owner/name>)\n```\n"
    j = explain(evidence(card))
    assert j.score == 0.0
    assert "does not parse" in j.reason


def test_empty_card_and_card_without_code() -> None:
    assert explain(evidence("")).reason == "the card has no Python code"
    assert compute(evidence("# name\n\nA model. Use it wisely.\n")) == 0.0


def test_broken_front_matter_is_still_scanned() -> None:
    card = "---\nlicense: [mit\n  : :\n---\n" + SBERT_CARD.replace(
        "sentence-transformers/all-MiniLM-L6-v2'", "owner/name'"
    )
    assert compute(evidence(card, card_error="card metadata is not valid YAML")) == 1.0


def test_repo_id_from_url_and_local_modules() -> None:
    assert hub_repo_id("https://huggingface.co/owner/name/tree/main/sub") == "owner/name"
    assert hub_repo_id("https://huggingface.co/gpt2") == "gpt2"
    assert hub_repo_id("https://huggingface.co/datasets/owner/data") == ""
    assert hub_repo_id("https://github.com/owner/name") == ""
    assert hub_repo_id("not a url") == ""
    files = (
        FileFact("modeling_x.py", 1, "code"),
        FileFact("pkg/sub/util.py", 1, "code"),
        FileFact("a.json", 1, "config"),
    )
    assert local_modules(files) == {"modeling_x", "pkg"}


def test_a_model_registered_from_elsewhere_matches_by_name() -> None:
    card = "```python\nfrom transformers import AutoModel\nm = AutoModel.from_pretrained('tiny-bert')\n```\n"
    assert (
        reproducibility.compute(evidence(card, "https://www.kaggle.com/models/x/tiny-bert", "tiny-bert"))
        == 1.0
    )
    assert reproducibility.compute(evidence(card, "https://www.kaggle.com/models/x/other", "other")) == 0.0
