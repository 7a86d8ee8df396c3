"""category: what kind of model this is, as "<domain>/<task>", e.g. "nlp/text-classification".

The task is the first of these that the evidence gives, from the most to the least explicit:
the Hub's `pipeline_tag`, the card's `pipeline_tag`, a tag that is a known task, the architecture
in config.json (`BertForMaskedLM` → fill-mask), the PEFT adapter's `task_type`, the library
(`sentence-transformers` → sentence-similarity). The domain follows from the task (nlp, vision,
audio, multimodal, tabular, rl; "other" for a task outside these lists). Nothing at all → "unknown".
"""

from __future__ import annotations

from tmr.rating.evidence import ModelEvidence
from tmr.rating.metrics.common import as_list

UNKNOWN = "unknown"

DOMAINS: dict[str, frozenset[str]] = {
    "nlp": frozenset({
        "text-classification", "token-classification", "table-question-answering", "question-answering",
        "zero-shot-classification", "translation", "summarization", "feature-extraction",
        "text-generation", "text2text-generation", "fill-mask", "sentence-similarity", "text-ranking",
        "conversational", "multiple-choice",
    }),
    "vision": frozenset({
        "image-classification", "object-detection", "image-segmentation", "depth-estimation",
        "image-to-image", "unconditional-image-generation", "video-classification", "mask-generation",
        "zero-shot-image-classification", "zero-shot-object-detection", "image-feature-extraction",
        "keypoint-detection", "image-to-3d", "text-to-3d",
    }),
    "audio": frozenset({
        "automatic-speech-recognition", "audio-classification", "text-to-speech", "text-to-audio",
        "audio-to-audio", "voice-activity-detection",
    }),
    "multimodal": frozenset({
        "image-to-text", "image-text-to-text", "visual-question-answering", "document-question-answering",
        "text-to-image", "text-to-video", "image-to-video", "video-text-to-text", "any-to-any",
        "audio-text-to-text", "visual-document-retrieval",
    }),
    "tabular": frozenset({"tabular-classification", "tabular-regression", "time-series-forecasting"}),
    "rl": frozenset({"reinforcement-learning", "robotics"}),
}  # fmt: skip
TASKS = frozenset().union(*DOMAINS.values())

# Architecture name endings (transformers conventions) and the task they serve.
ARCHITECTURES = (
    ("ForMaskedLM", "fill-mask"),
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),
    ("ForSequenceClassification", "text-classification"),
    ("ForTokenClassification", "token-classification"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForMultipleChoice", "multiple-choice"),
    ("ForSpeechSeq2Seq", "automatic-speech-recognition"),
    ("ForCTC", "automatic-speech-recognition"),
    ("ForAudioClassification", "audio-classification"),
    ("ForImageClassification", "image-classification"),
    ("ForObjectDetection", "object-detection"),
    ("ForSemanticSegmentation", "image-segmentation"),
    ("ForDepthEstimation", "depth-estimation"),
    ("ForVision2Seq", "image-to-text"),
    ("ForConditionalGeneration", "text2text-generation"),
)
SPEECH_MODEL_TYPES = frozenset({"whisper", "speech_to_text", "speecht5", "seamless_m4t"})
ADAPTER_TASKS = {
    "CAUSAL_LM": "text-generation",
    "SEQ_2_SEQ_LM": "text2text-generation",
    "SEQ_CLS": "text-classification",
    "TOKEN_CLS": "token-classification",
    "QUESTION_ANS": "question-answering",
    "FEATURE_EXTRACTION": "feature-extraction",
}
LIBRARIES = {
    "sentence-transformers": "sentence-similarity",
    "timm": "image-classification",
    "diffusers": "text-to-image",
    "stable-baselines3": "reinforcement-learning",
    "ml-agents": "reinforcement-learning",
    "espnet": "automatic-speech-recognition",
    "nemo": "automatic-speech-recognition",
    "ultralytics": "object-detection",
    "open_clip": "zero-shot-image-classification",
}


def task(evidence: ModelEvidence) -> str | None:
    candidates = [evidence.pipeline_tag, evidence.card.get("pipeline_tag"), *evidence.tags]
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip().lower() in TASKS:
            return candidate.strip().lower()
    config = evidence.config or {}
    for architecture in as_list(config.get("architectures")):
        for ending, name in ARCHITECTURES:
            if isinstance(architecture, str) and architecture.endswith(ending):
                # Whisper & co. are sequence-to-sequence models whose input is speech.
                speech = str(config.get("model_type", "")).lower() in SPEECH_MODEL_TYPES
                return "automatic-speech-recognition" if speech and name.startswith("text") else name
    adapter_task = (evidence.adapter_config or {}).get("task_type")
    if isinstance(adapter_task, str) and adapter_task.upper() in ADAPTER_TASKS:
        return ADAPTER_TASKS[adapter_task.upper()]
    library = evidence.library_name or evidence.card.get("library_name")
    return LIBRARIES.get(library.lower()) if isinstance(library, str) else None


def compute(evidence: ModelEvidence) -> str:
    found = task(evidence)
    if found is None:
        # A pipeline tag the lists above do not know is still the best description there is.
        raw = evidence.pipeline_tag or evidence.card.get("pipeline_tag")
        return f"other/{raw.strip().lower()}" if isinstance(raw, str) and raw.strip() else UNKNOWN
    domain = next(name for name, tasks in DOMAINS.items() if found in tasks)
    return f"{domain}/{found}"
