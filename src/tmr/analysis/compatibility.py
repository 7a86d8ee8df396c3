"""License compatibility for one usage: a company fine-tunes a model with a code project and uses
the result for inference or generation (in-house or behind its own service).

The rules are data. Blockers decide the verdict: one matching blocker makes the pair incompatible.
Otherwise the pair is compatible and the reasons list the obligations each side brings along.
Where the obligations of the two licenses attach (after ModelGo): the model's license to the
fine-tuned weights, an adaptation of the model; the code's license to the program and copies of
it, not to weights the program computes (its output); copyleft triggers on distribution, network
copyleft also on letting users interact with the program over a network.
`EXAMPLES` is the documented table of pairs (docs/licensing.md) and the test suite at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tmr.analysis.licenses import Family, License, normalize

MODEL, CODE = "model", "code"


@dataclass(frozen=True, slots=True)
class Verdict:
    compatible: bool
    reasons: list[str]
    # The two licenses as judged, so a page can name them beside the reasons.
    model: License | None = None
    code: License | None = None


# (side, predicate, reason): tried in order on each side; the first match per side is reported,
# so a missing license reads "no license found" and not also "forbids commercial use".
_BLOCKERS: tuple[tuple[str, Callable[[License], bool], str], ...] = (
    (
        "both",
        lambda lic: lic.family is Family.UNKNOWN,
        "no license found for the {side} ({license}): without a license nothing is granted, "
        "so the pair cannot be called compatible",
    ),
    (
        "both",
        lambda lic: lic.family is Family.OTHER,
        "the {side}'s license {license} is custom or proprietary: its terms need a legal review",
    ),
    (
        "both",
        lambda lic: not lic.commercial_use,
        "the {side}'s license {license} is non-commercial, and the registry's users are a company",
    ),
    (
        MODEL,
        lambda lic: not lic.modification,
        "the model's license {license} forbids derivatives, and a fine-tuned model is a derivative",
    ),
)

# (predicate on model and code, reason): conflicts that only arise between the two licenses.
_CONFLICTS: tuple[tuple[Callable[[License, License], bool], str], ...] = (
    (
        lambda model, code: code.family is Family.NETWORK_COPYLEFT and model.use_restrictions,
        "network copyleft: serving the fine-tuned model with the code makes the code's license "
        "{code} reach the service's users and forbid further restrictions, while the model's "
        "license {model} requires its use restrictions to be passed on; both cannot hold "
        "(no conflict if the code only trains and never serves)",
    ),
)

# What each side obliges the company to when the pair is compatible.
_OBLIGATIONS: dict[tuple[str, Family], str] = {
    (MODEL, Family.PUBLIC_DOMAIN): "the model ({license}) is public domain: no conditions",
    (MODEL, Family.PERMISSIVE): "the model's license {license} is permissive: keep its notices "
    "with the fine-tuned weights",
    (MODEL, Family.WEAK_COPYLEFT): "the model's license {license} is weak copyleft: changed "
    "model files (the fine-tuned weights) stay under it when shared",
    (MODEL, Family.STRONG_COPYLEFT): "the model's license {license} is share-alike: the "
    "fine-tuned weights are an adaptation and stay under it, with attribution, when shared",
    (MODEL, Family.NETWORK_COPYLEFT): "the model's license {license} is network copyleft: users "
    "of a service running the fine-tuned model may claim its weights under the same license",
    (MODEL, Family.RESPONSIBLE_AI): "the model's license {license} has use restrictions "
    "(responsible-AI license): they bind the fine-tuned model and must be passed on to anyone "
    "who receives it or uses a service built on it",
    (MODEL, Family.LLAMA_STYLE): "the model's license {license} is a vendor community license "
    "(Llama-style): pass on its acceptable-use policy and license text, show the required "
    "attribution or naming (e.g. 'Built with Llama'), check its user-count threshold",
    (CODE, Family.PUBLIC_DOMAIN): "the code ({license}) is public domain: no conditions",
    (CODE, Family.PERMISSIVE): "the code's license {license} is permissive: keep its notices "
    "if the code is shipped",
    (CODE, Family.WEAK_COPYLEFT): "the code's license {license} is weak copyleft: changes to "
    "its files are shared if the code is shipped; the weights it computes are its output",
    (CODE, Family.STRONG_COPYLEFT): "the code's license {license} is copyleft, but only for "
    "distributed copies of the program: the weights it trains are its output, and running it "
    "in-house or behind a service is not distribution; ship the code only under its license, "
    "never as one program with weights whose license adds restrictions",
    (CODE, Family.NETWORK_COPYLEFT): "the code's license {license} is network copyleft: if the "
    "code serves inference, offer its complete source, changes included, to the service's users",
    (CODE, Family.RESPONSIBLE_AI): "the code's license {license} has use restrictions: they "
    "also govern the fine-tuning and serving",
    (CODE, Family.LLAMA_STYLE): "the code's license {license} is a vendor community license: "
    "its acceptable-use policy also governs the fine-tuning and serving",
    (CODE, Family.NO_DERIVATIVES): "the code's license {license} forbids sharing adapted "
    "copies: run the code as published",
}


def check(model_license: License, code_license: License) -> Verdict:
    """Can the company fine-tune a model under `model_license` with code under `code_license`
    and use the result for inference? Reasons explain a refusal or list the obligations."""
    sides = {MODEL: model_license, CODE: code_license}
    blocked: list[str] = []
    for side, lic in sides.items():
        for applies_to, applies, reason in _BLOCKERS:
            if applies_to in ("both", side) and applies(lic):
                blocked.append(reason.format(side=side, license=lic.label))
                break
    if not blocked:
        for conflicts, reason in _CONFLICTS:
            if conflicts(model_license, code_license):
                blocked.append(reason.format(model=model_license.label, code=code_license.label))
    if blocked:
        return Verdict(False, blocked, model_license, code_license)
    reasons = [
        f"compatible for fine-tuning and inference in a company: model {model_license.label}, "
        f"code {code_license.label}"
    ]
    for side, lic in sides.items():
        obligation = _OBLIGATIONS.get((side, lic.family), "the {side}'s license {license} applies")
        reasons.append(obligation.format(side=side, license=lic.label))
        if lic.spdx and " OR " in lic.spdx:
            reasons.append(f"the {side}'s license {lic.spdx} offers a choice: judged by its best option")
    return Verdict(True, reasons, model_license, code_license)


def check_strings(model_license: str | None, code_license: str | None) -> Verdict:
    """`check` on raw license strings (card metadata, GitHub's license id)."""
    return check(normalize(model_license), normalize(code_license))


@dataclass(frozen=True, slots=True)
class Example:
    """A documented pair: `cue` is a phrase the verdict's reasons must contain."""

    model: str | None
    code: str | None
    compatible: bool
    why: str
    cue: str


EXAMPLES: tuple[Example, ...] = (
    Example("MIT", "MIT", True, "both permissive: keep notices", "permissive"),
    Example("apache-2.0", "BSD-3-Clause", True, "both permissive", "permissive"),
    Example("apache-2.0", "MIT OR Apache-2.0", True, "dual-licensed code: pick either", "choice"),
    Example("CC0-1.0", "MIT", True, "public-domain model", "public domain"),
    Example("mit", "Unlicense", True, "public-domain code", "public domain"),
    Example("cc-by-4.0", "ISC", True, "attribution only", "permissive"),
    Example("apache-2.0", "lgpl-3.0", True, "weak copyleft covers the code's own files", "weak copyleft"),
    Example("apache-2.0", "MPL-2.0", True, "file-level copyleft on the code only", "weak copyleft"),
    Example("apache-2.0", "gpl-3.0", True, "GPL binds distributed code, not trained weights", "output"),
    Example("mit", "GPL-2.0-only", True, "in-house training is not distribution", "distribution"),
    Example("apache-2.0", "GPL-2.0-only WITH Classpath-exception-2.0", True, "linking exception", "weak"),
    Example("apache-2.0", "agpl-3.0", True, "offer the serving code's source to users", "source"),
    Example("gpl-3.0", "apache-2.0", True, "GPL model: weights stay GPL when shared", "share-alike"),
    Example("cc-by-sa-4.0", "MIT", True, "share-alike model: weights stay CC BY-SA", "share-alike"),
    Example("lgpl-3.0", "MIT", True, "weak-copyleft model", "weak copyleft"),
    Example("agpl-3.0", "MIT", True, "network-copyleft model: service users may claim weights", "network"),
    Example("bigscience-openrail-m", "apache-2.0", True, "pass the use restrictions on", "use restrictions"),
    Example("creativeml-openrail-m", "MIT", True, "pass the use restrictions on", "use restrictions"),
    Example("openrail++", "BSD-3-Clause", True, "pass the use restrictions on", "use restrictions"),
    Example("openrail", "gpl-3.0", True, "GPL code is not shipped with the weights", "distribution"),
    Example("llama2", "apache-2.0", True, "AUP, naming and user threshold carried", "acceptable-use"),
    Example("llama3.1", "MIT", True, "AUP, 'Built with Llama', user threshold", "Built with Llama"),
    Example("llama3.2", "gpl-3.0", True, "GPL code is not shipped with the weights", "acceptable-use"),
    Example("gemma", "apache-2.0", True, "vendor terms and prohibited uses carried", "acceptable-use"),
    Example("llama3", "agpl-3.0", False, "AGPL forbids the AUP the model imposes", "network copyleft"),
    Example("openrail", "agpl-3.0", False, "AGPL forbids the restrictions to pass on", "network copyleft"),
    Example("cc-by-nc-4.0", "MIT", False, "non-commercial model", "non-commercial"),
    Example("MIT", "cc-by-nc-4.0", False, "non-commercial code", "non-commercial"),
    Example("cc-by-nc-sa-4.0", "gpl-3.0", False, "non-commercial model", "non-commercial"),
    Example("deepfloyd-if-license", "MIT", False, "research-only model license", "non-commercial"),
    Example("MIT AND cc-by-nc-4.0", "apache-2.0", False, "all terms of AND apply", "non-commercial"),
    Example("cc-by-nc-4.0 OR apache-2.0", "MIT", True, "pick the commercial option", "choice"),
    Example("cc-by-nd-4.0", "MIT", False, "fine-tuning makes a derivative", "derivatives"),
    Example("MIT", "cc-by-nd-4.0", True, "code used as published", "as published"),
    Example("unknown", "MIT", False, "no license found is not compatible", "no license found"),
    Example(None, "apache-2.0", False, "model declares no license", "no license found"),
    Example("MIT", "NOASSERTION", False, "GitHub found no identifiable license", "no license found"),
    Example("apache-2.0", None, False, "repository without a license", "no license found"),
    Example("apache-2.0", "a license string that is no SPDX id", False, "unrecognised", "no license found"),
    Example("other", "MIT", False, "custom terms need a legal review", "legal review"),
)


def examples_table() -> str:
    """`EXAMPLES` as the Markdown table docs/licensing.md reproduces."""
    lines = ["| model license | code license | verdict | why |", "|---|---|---|---|"]
    for ex in EXAMPLES:
        verdict = "compatible" if ex.compatible else "**not compatible**"
        lines.append(f"| {_cell(ex.model)} | {_cell(ex.code)} | {verdict} | {ex.why} |")
    return "\n".join(lines)


def _cell(raw: str | None) -> str:
    return f"`{raw}`" if raw is not None else "*(none)*"
