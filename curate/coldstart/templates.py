"""Prompt templates for coldstart sampling.

- ``tinyllava-r1`` (TinyLLaVA-Video-R1's): ``{question}\\n{A. …\\nB. …}`` followed by
  ``Output the thinking process in <think> </think> and final answer (option) in <answer> </answer> tags.``
  (joined with a space, as its trainer's ``QUESTION_TEMPLATE`` does);
- ``video-r1`` (Video-R1's question template with its multiple-choice suffix);
- a Jinja file (``--template FILE``) with ``question``, ``options`` (list), ``options_block``, ``letters``.
"""

from __future__ import annotations

from pathlib import Path

from curate.errors import UserError
from schemas.prompt import LETTERS, R1_INSTRUCTION, options_block

TEMPLATES = ("tinyllava-r1", "video-r1")
VIDEO_R1_QUESTION = (
    "{question}\nPlease think about this question as if you were a human pondering deeply. Engage in an "
    "internal dialogue using expressions such as 'let me think', 'wait', 'Hmm', 'oh, I see', 'let's break it "
    "down', etc, or other natural language thought expressions It's encouraged to include self-reflection or "
    "verification in the reasoning process. Provide your detailed reasoning between the <think> </think> tags, "
    "and then give your final answer between the <answer> </answer> tags."
)
VIDEO_R1_MC_SUFFIX = (
    " Please provide only the single option letter (e.g., A, B, C, D, etc.) within the <answer> </answer> tags."
)


def render(template: str, question: str, options: list[str]) -> str:
    """The user text for one question under ``template`` (a built-in name or a Jinja file path)."""
    block = options_block(options)
    if template == "tinyllava-r1":
        return f"{question}\n{block} {R1_INSTRUCTION}"
    if template == "video-r1":
        # as Video-R1 builds it: problem + "Options:\n" + one line per option, each ending in "\n"
        return VIDEO_R1_QUESTION.format(question=f"{question}Options:\n{block}\n") + VIDEO_R1_MC_SUFFIX
    path = Path(template)
    if not path.is_file():
        raise UserError(f"--template {template!r}: not one of {', '.join(TEMPLATES)} and no such file")
    import jinja2

    try:
        compiled = jinja2.Template(path.read_text(encoding="utf-8"), undefined=jinja2.StrictUndefined)
        return compiled.render(
            question=question, options=options, options_block=block, letters=list(LETTERS[: len(options)])
        )
    except jinja2.TemplateError as exc:
        raise UserError(f"{path}: template error: {exc}") from None
