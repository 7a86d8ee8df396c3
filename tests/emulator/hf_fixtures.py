"""Hugging Face model fixtures, each a few lines of data via `hf_model` (datasets: `hf_datasets`)."""

from __future__ import annotations

from tests.emulator.blobs import InlineBlob, stable_int
from tests.emulator.content import (
    benign_pickle,
    json_bytes,
    large_safetensors,
    malicious_pickle,
    safetensors_bytes,
    small_weights,
    tokenizer_json,
    vocab_txt,
)
from tests.emulator.hf_builders import cfg, hf_model
from tests.emulator.hf_cards import BERT_BODY
from tests.emulator.repos import HfRepo

_BERT_VOCAB = vocab_txt()
_BERT_WEIGHTS = safetensors_bytes(
    {
        "bert.embeddings.word_embeddings.weight": ("F32", [128, 256]),
        "bert.embeddings.position_embeddings.weight": ("F32", [32, 256]),
        "bert.encoder.layer.0.attention.self.query.weight": ("F32", [64, 64]),
        "bert.encoder.layer.0.attention.self.key.weight": ("F32", [64, 64]),
        "bert.encoder.layer.0.attention.self.value.weight": ("F32", [64, 64]),
        "bert.encoder.layer.0.output.dense.weight": ("F16", [64, 128]),
        "cls.predictions.bias": ("F32", [128]),
    },
    seed=stable_int("bert-weights"),
)

_ACME_BODY = (
    "Training code: https://github.com/acme/training-code\n\n"
    "```python\nfrom transformers import AutoModelForCausalLM\n"
    'model = AutoModelForCausalLM.from_pretrained("{id}")\n```\n'
)


def _acme_body(repo_id: str, summary: str) -> str:
    return f"# {repo_id}\n\n{summary}\n\n## Usage\n\n" + _ACME_BODY.format(id=repo_id)


def _lineage_models() -> list[HfRepo]:
    gpt = cfg("GPT2LMHeadModel", "gpt2", n_embd=64, n_layer=2, n_head=2, vocab_size=256)
    return [
        hf_model(
            "acme/base-lm",
            meta={
                "license": "apache-2.0",
                "language": ["en"],
                "datasets": ["wikimedia/wikipedia"],
                "library_name": "transformers",
                "pipeline_tag": "text-generation",
            },
            body=_acme_body("acme/base-lm", "A small causal language model pretrained on Wikipedia."),
            config=gpt,
            downloads=12_400,
            likes=37,
            pipeline_tag="text-generation",
            library_name="transformers",
            created_at="2023-05-02T08:00:00.000Z",
            last_modified="2023-06-01T08:00:00.000Z",
            head_tags=("1.2",),  # no `v`, no patch: registered as 1.2.0
        ),
        hf_model(
            "acme/base-lm-finetuned",
            meta={
                "license": "apache-2.0",
                "base_model": "acme/base-lm",
                "base_model_relation": "finetune",
                "datasets": ["acme/instruct-data"],
                "language": ["en"],
                "pipeline_tag": "text-generation",
            },
            body=_acme_body("acme/base-lm-finetuned", "acme/base-lm fine-tuned on acme/instruct-data."),
            config={**gpt, "_name_or_path": "acme/base-lm"},
            downloads=3_100,
            likes=12,
            pipeline_tag="text-generation",
            library_name="transformers",
            created_at="2023-07-10T08:00:00.000Z",
            last_modified="2023-08-01T08:00:00.000Z",
        ),
        hf_model(
            "acme/base-lm-finetuned-lora",
            meta={
                "license": "apache-2.0",
                "base_model": "acme/base-lm-finetuned",
                "base_model_relation": "adapter",
                "library_name": "peft",
                "tags": ["lora"],
            },
            body=_acme_body(
                "acme/base-lm-finetuned-lora", "A LoRA adapter on top of acme/base-lm-finetuned."
            ),
            weights=None,
            downloads=450,
            likes=3,
            library_name="peft",
            pipeline_tag="text-generation",
            files={
                "adapter_config.json": json_bytes(
                    {
                        "base_model_name_or_path": "acme/base-lm-finetuned",
                        "peft_type": "LORA",
                        "task_type": "CAUSAL_LM",
                        "r": 8,
                        "lora_alpha": 16,
                        "target_modules": ["c_attn"],
                    }
                ),
                "adapter_model.safetensors": small_weights(
                    "acme/base-lm-finetuned-lora", hidden=16, layers=1
                ),
            },
            created_at="2023-09-01T08:00:00.000Z",
            last_modified="2023-09-02T08:00:00.000Z",
        ),
    ]


def _poor_models() -> list[HfRepo]:
    bert = cfg("BertModel", "bert")
    return [
        hf_model("bare/no-card", readme=None, config=None, downloads=2),
        hf_model("bare/empty-card", readme=b"", config=bert, downloads=5),
        hf_model(
            "bare/broken-yaml", readme=b"---\nlicense: [mit\ntags: {unclosed\n---\n\n# Broken\n", config=bert
        ),
        hf_model("bare/no-config", meta={"license": "mit"}, body="# No config\n\nWeights only.", config=None),
        hf_model("bare/self-parent", meta={"license": "mit", "base_model": "bare/self-parent"}, config=bert),
        hf_model("bare/cycle-a", meta={"license": "mit", "base_model": "bare/cycle-b"}, config=bert),
        hf_model("bare/cycle-b", meta={"license": "mit", "base_model": "bare/cycle-a"}, config=bert),
    ]


def _license_models() -> list[HfRepo]:
    def simple(repo_id: str, lic: str, likes: int) -> HfRepo:
        return hf_model(
            repo_id,
            meta={"license": lic, "language": ["en"], "pipeline_tag": "text-classification"},
            body=f"# {repo_id}\n\nA tiny text classifier released under {lic}.\n\n"
            "```python\nfrom transformers import pipeline\n"
            f"clf = pipeline('text-classification', model='{repo_id}')\n```",
            config=cfg("BertForSequenceClassification", "bert"),
            downloads=likes * 40,
            likes=likes,
            pipeline_tag="text-classification",
            library_name="transformers",
        )

    return [
        simple("nomic/tiny-mit-model", "mit", 25),
        simple("someone/nc-model", "cc-by-nc-4.0", 4),
        simple("someone/gpl-model", "gpl-3.0", 2),
    ]


def hf_models() -> list[HfRepo]:
    """All model fixtures."""
    bert_meta = {
        "language": "en",
        "tags": ["exbert"],
        "license": "apache-2.0",
        "datasets": ["bookcorpus/bookcorpus", "wikipedia"],
        "model-index": [
            {
                "name": "bert-base-uncased",
                "results": [
                    {
                        "task": {"type": "text-classification", "name": "Text Classification"},
                        "dataset": {
                            "name": "GLUE SST-2",
                            "type": "nyu-mll/glue",
                            "config": "sst2",
                            "split": "validation",
                        },
                        "metrics": [{"type": "accuracy", "value": 0.935, "name": "Accuracy"}],
                    }
                ],
            }
        ],
    }
    return [
        hf_model(
            "google-bert/bert-base-uncased",
            meta=bert_meta,
            body=BERT_BODY,
            config=cfg(
                "BertForMaskedLM",
                "bert",
                hidden_size=768,
                num_attention_heads=12,
                num_hidden_layers=12,
                vocab_size=30522,
                max_position_embeddings=512,
                transformers_version="4.6.0.dev0",
            ),
            weights=InlineBlob(_BERT_WEIGHTS),
            files={
                "vocab.txt": _BERT_VOCAB,
                "tokenizer.json": tokenizer_json(_BERT_VOCAB),
                "tokenizer_config.json": json_bytes({"do_lower_case": True, "model_max_length": 512}),
            },
            downloads=52_340_118,
            likes=2_318,
            pipeline_tag="fill-mask",
            library_name="transformers",
            extra_tags=("pytorch", "tf", "jax", "safetensors", "bert", "arxiv:1810.04805"),
            git_tags=("v1.0.0",),  # an older release
            head_tags=("v1.1.0",),  # the release at the head of main: the registered version
            pr_numbers=(1,),
            aliases=("bert-base-uncased",),
            last_modified="2024-02-19T11:06:12.000Z",
        ),
        *_lineage_models(),
        hf_model(
            "openai/whisper-tiny",
            meta={
                "language": ["en", "fr", "de"],
                "tags": ["audio", "automatic-speech-recognition"],
                "license": "apache-2.0",
                "pipeline_tag": "automatic-speech-recognition",
            },
            body="# Whisper\n\nWhisper is a pre-trained model for automatic speech recognition (ASR).\n"
            "Original code: https://github.com/openai/whisper\n\n"
            "```python\nfrom transformers import WhisperProcessor, WhisperForConditionalGeneration\n"
            'model = WhisperForConditionalGeneration.from_pretrained("openai/whisper-tiny")\n```',
            config=cfg("WhisperForConditionalGeneration", "whisper", d_model=384),
            downloads=1_250_000,
            likes=310,
            pipeline_tag="automatic-speech-recognition",
            library_name="transformers",
            head_tags=("release-candidate",),  # not a version: no version at all
        ),
        hf_model(
            "distilbert/distilbert-base-uncased-distilled-squad",
            meta={
                "language": "en",
                "license": "apache-2.0",
                "datasets": ["squad"],
                "widget": [{"text": "Which name is also used to describe the Amazon rainforest in English?"}],
            },
            body="# DistilBERT base uncased distilled SQuAD\n\n"
            "Fine-tuned on SQuAD v1.1 with knowledge distillation.\n"
            "Developed in https://github.com/huggingface/transformers\n\n"
            "```python\nfrom transformers import pipeline\n"
            "qa = pipeline('question-answering', model='distilbert-base-uncased-distilled-squad')\n```",
            config=cfg("DistilBertForQuestionAnswering", "distilbert"),
            downloads=210_000,
            likes=105,
            pipeline_tag="question-answering",
            library_name="transformers",
            aliases=("distilbert-base-uncased-distilled-squad",),
            git_tags=("v0.9.0", "v1.0.0"),  # releases of older commits only: no version, a newer one
        ),
        hf_model(
            "microsoft/DialoGPT-small",
            meta={
                "thumbnail": "https://huggingface.co/front/thumbnails/dialogpt.png",
                "tags": ["conversational"],
                "license": "mit",
            },
            body="## A State-of-the-Art Large-scale Pretrained Response generation model (DialoGPT)\n\n"
            "Code: https://github.com/microsoft/DialoGPT\n\n```python\n"
            "from transformers import AutoModelForCausalLM\nmodel = AutoModelForCausalLM.from_pretrained("
            '"microsoft/DialoGPT-small")\n```',
            config=cfg("GPT2LMHeadModel", "gpt2"),
            downloads=95_000,
            likes=120,
            pipeline_tag="text-generation",
            library_name="transformers",
        ),
        hf_model(
            "parvk11/audience_classifier_model",
            meta={
                "library_name": "transformers",
                "base_model": "distilbert/distilbert-base-uncased",
                "tags": ["generated_from_trainer"],
                "model-index": [{"name": "audience_classifier_model", "results": []}],
            },
            body="<!-- This model card has been generated automatically. -->\n\n"
            "# audience_classifier_model\n\n"
            "This model is a fine-tuned version of distilbert-base-uncased on an unknown dataset.\n\n"
            "## Model description\n\nMore information needed\n\n"
            "## Training procedure\n\nMore information needed",
            config={
                **cfg("DistilBertForSequenceClassification", "distilbert"),
                "_name_or_path": "distilbert-base-uncased",
            },
            downloads=14,
            likes=0,
            pipeline_tag="text-classification",
            library_name="transformers",
        ),
        hf_model(
            "meta-llama/Llama-3.2-1B",
            meta={
                "language": ["en", "de", "fr"],
                "library_name": "transformers",
                "license": "llama3.2",
                "pipeline_tag": "text-generation",
                "tags": ["facebook", "meta", "pytorch", "llama", "llama-3"],
                "extra_gated_prompt": "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT",
            },
            body="## Model Information\n\nThe Llama 3.2 collection of multilingual large language models.\n\n"
            "```python\nimport torch\nfrom transformers import pipeline\n"
            'pipe = pipeline("text-generation", model="meta-llama/Llama-3.2-1B")\n```',
            config=cfg("LlamaForCausalLM", "llama"),
            gated="manual",
            downloads=1_900_000,
            likes=1_700,
            pipeline_tag="text-generation",
            library_name="transformers",
        ),
        *_license_models(),
        *_poor_models(),
        hf_model(
            "big/large-weights",
            meta={"license": "apache-2.0"},
            config=cfg("GPT2LMHeadModel", "gpt2"),
            body="# Large weights\n\nServes a 25 MB generated safetensors file.",
            weights=large_safetensors(25_000_000, seed=stable_int("big/large-weights")),
            downloads=10,
        ),
        hf_model(
            "evil/pickle-model",
            meta={"license": "mit"},
            config=cfg("BertModel", "bert"),
            weights=None,
            body="# Pickle model\n\nLoad with torch.load.",
            files={"pytorch_model.bin": malicious_pickle()},
        ),
        hf_model(
            "safe/pickle-model",
            meta={"license": "mit"},
            config=cfg("BertModel", "bert"),
            weights=None,
            body="# Pickle model\n\nLoad with torch.load.",
            files={"pytorch_model.bin": benign_pickle()},
        ),
        hf_model(
            "private/secret-model",
            meta={"license": "other"},
            config=cfg("BertModel", "bert"),
            private=True,
        ),
    ]
