"""``spacy_goemotions.render``: see the emotions of texts and the words behind them, as HTML.

In the manner of ``spacy.displacy.render``: it returns HTML, or displays it inline when running in a
notebook. The HTML carries its stylesheet and script inline and references no external file, font
or image, so a saved page works offline. Every piece of user text is HTML-escaped.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..core.table import TableOptions, split_score_kwargs
from ..core.thresholds import ThresholdSpec
from .assets import CSS, SCRIPT
from .html import esc, item_html, legend_html, summary_html
from .items import ItemView, as_list, collect

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..core.table import ScoreKwargs


def render(
    obj: Any,
    *,
    threshold: ThresholdSpec | None = 0.5,
    top_k: int | None = None,
    bars: int = 5,
    explain: bool = False,
    summary: bool = False,
    captions: Sequence[str] | None = None,
    title: str = "Emotions",
    page: bool = False,
    jupyter: bool | None = None,
    **kwargs: Unpack[ScoreKwargs],
) -> str | None:
    """Render emotions as HTML: per text, the text, its top emotions as bars, its sentences, its words.

    Args:
        obj: a string, a spaCy Doc, an :class:`~spacy_goemotions.core.explanations.Explanation`, None
            (a missing text), or a list of them. Docs annotated by the ``goemotions`` component are shown
            as the pipeline scored them (with their sentences and ``doc._.emotion_explanation``);
            the rest is scored here, in one call.
        threshold: the threshold policy that decides which emotions are on (the rest is greyed).
        top_k: show at most this many emotions as on per text.
        bars: how many of the highest scores to show per text (every label that is on is shown too).
        explain: also explain each text that has no explanation yet (each word coloured by how
            much it raises or lowers the chosen emotion; the page switches between emotions).
        summary: start with how often each emotion is on across the texts.
        captions: one caption per text (e.g. a row id), shown above it.
        title: the heading (and, with ``page``, the document title).
        page: a complete standalone HTML document instead of a fragment.
        jupyter: display inline in a notebook and return None; None: when running in one.
        **kwargs: the classifier options (``model``, ``dtype``, ...), ``options=``, ``progress=``.

    Examples:
        >>> html = render(["I love it!", "This is awful."], model="goemotions-small", page=True)  # doctest: +SKIP
    """
    options, _ = split_score_kwargs(kwargs)
    table = TableOptions(threshold=threshold, top_k=top_k)
    if isinstance(bars, bool) or not isinstance(bars, int) or bars < 1:
        raise ValueError(f"bars must be an integer >= 1, got {bars!r}. Example: bars=5")
    raw = as_list(obj)
    if captions is not None and len(captions) != len(raw):
        raise ValueError(f"captions must hold one caption per text: {len(captions)} captions for {len(raw)} texts")
    views, scorer = collect(raw, options, table, explain)
    for view, caption in zip(views, captions if captions is not None else [None] * len(views), strict=True):
        view.caption = caption
    meta = [f"{len(views)} text{'s' if len(views) != 1 else ''}"]
    if scorer.used:  # what scored the texts scored here (a Doc keeps its pipeline's scores)
        meta.append(f"model {scorer.options.model_name}")
        meta.append(f"engine {scorer.classifier.engine.describe()}")
    if scorer.selections:
        meta.append(f"threshold {threshold}" + (f", top {top_k}" if top_k else ""))
    body = _body(views, bars, summary, title, " · ".join(meta))
    markup = _document(body, title) if page else f'<div class="ge-root"><style>{CSS}</style>{body}<script>{SCRIPT}</script></div>'
    if jupyter or (jupyter is None and in_jupyter()):
        from IPython.display import HTML, display  # type: ignore[attr-defined]

        display(HTML(markup))  # type: ignore[no-untyped-call]
        return None
    return markup


def _body(views: list[ItemView], bars: int, summary: bool, title: str, meta: str) -> str:
    parts = [f"<h1>{esc(title)}</h1>", f'<div class="ge-meta">{esc(meta)}</div>', legend_html()]
    if summary:
        parts.append(summary_html(views))
    parts.extend(item_html(view, bars) for view in views)
    return "".join(parts)


def _document(body: str, title: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>body {{ margin: 1.5rem; background: #f6f8fa; }}{CSS}</style></head>"
        f'<body><main class="ge-root">{body}</main><script>{SCRIPT}</script></body></html>\n'
    )


def in_jupyter() -> bool:
    """True inside a Jupyter kernel (IPython is only looked at when it is already imported)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
