"""HTML of the views: every piece of user text (texts, words, labels, captions) goes through :func:`esc`.

Only numbers the renderer computes and colours of :mod:`.palette` are written unescaped, into
``style`` and ``data-a`` attributes.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence

from ..core.explanations import Explanation
from ..core.text import repair_text
from .items import ItemView, SentenceView
from .palette import LOWERS_RGB, RAISES_RGB, attribution_colour, label_colour


def esc(text: str) -> str:
    """``text`` as HTML text or attribute value: ``& < > " '`` escaped, lone surrogates repaired (U+FFFD)."""
    return html.escape(repair_text(str(text))[0], quote=True)


def legend_html() -> str:
    raises, lowers = (f"rgb({', '.join(map(str, rgb))})" for rgb in (RAISES_RGB, LOWERS_RGB))
    return (
        '<div class="ge-legend">Bars: each emotion\'s score; greyed bars are below the threshold. Words: '
        f'<span class="ge-key" style="background:{raises}"></span>raises the chosen emotion\'s score'
        f'<span class="ge-key" style="background:{lowers}"></span>lowers it '
        "(deeper: stronger, on each text's own scale; hover a word for its value).</div>"
    )


def item_html(view: ItemView, bars: int) -> str:
    """One text: its words (coloured when explained), the label switch, the score bars, its sentences."""
    explained = view.explanation is not None and bool(view.explanation.labels)
    parts = [f'<section class="ge-item"{" data-ge-explained" if explained else ""}>']
    if view.caption is not None:
        parts.append(f'<div class="ge-meta">{esc(view.caption)}</div>')
    if view.text is None:
        parts.append('<p class="ge-text ge-missing">(missing text: no scores)</p></section>')
        return "".join(parts)
    parts.append(f'<p class="ge-text">{text_html(view.text, view.explanation if explained else None)}</p>')
    if explained and view.explanation is not None:
        parts.append(switch_html(view.explanation))
    if view.scores is not None:
        parts.append(bars_html(view.scores, view.selected or [], bars))
    if view.sentences:
        parts.append(sentences_html(view.sentences))
    parts.append("</section>")
    return "".join(parts)


def text_html(text: str, explanation: Explanation | None) -> str:
    """The text, each explained word in a span carrying its attributions (one per explained label)."""
    if explanation is None:
        return esc(text)
    labels = explanation.labels
    values = [explanation.attributions[label] for label in labels]
    first_scale = max((abs(v) for v in values[0]), default=0.0)
    out, position = [], 0
    for n, word in enumerate(explanation.words):
        out.append(esc(text[position : word.start]))
        numbers = " ".join(format(column[n], ".4g") for column in values)
        first = values[0][n]
        style = attribution_colour(first, first_scale)
        title = esc(f"{labels[0]} {first:+.3f}")
        out.append(f'<span class="ge-w" data-a="{numbers}" style="background:{style}" title="{title}">{esc(word.text)}</span>')
        position = word.end
    out.append(esc(text[position:]))
    return "".join(out)


def switch_html(explanation: Explanation) -> str:
    buttons = "".join(
        f'<button type="button" aria-pressed="{"true" if k == 0 else "false"}">{esc(label)}</button>'
        for k, label in enumerate(explanation.labels)
    )
    return f'<div class="ge-switch" role="group" aria-label="colour the words for">Words for: {buttons}</div>'


def bars_html(scores: dict[str, float], selected: Sequence[str], bars: int) -> str:
    """The ``bars`` highest scores and every selected label, highest first; labels not selected greyed."""
    ranked = sorted(scores, key=lambda label: -scores[label])
    shown = [label for label in ranked if label in set(ranked[:bars]) | set(selected)]
    rows = []
    for label in shown:
        state = "ge-on" if label in selected else "ge-off"
        width = max(0.0, min(scores[label], 1.0)) * 100
        fill = f'<span class="ge-fill" style="width:{width:.1f}%;background:{label_colour(label)}"></span>'
        rows.append(
            f'<div class="{state}" style="display:contents"><span class="ge-label" title="{esc(label)}">{esc(label)}</span>'
            f'<span class="ge-track">{fill}</span><span class="ge-val">{scores[label]:.2f}</span></div>'
        )
    return f'<div class="ge-bars">{"".join(rows)}</div>'


_NO_EMOTION = '<span class="ge-none">no emotion above the threshold</span>'


def sentences_html(sentences: Iterable[SentenceView]) -> str:
    items = []
    for sentence in sentences:
        chips = "".join(
            f'<span class="ge-chip" style="background:{label_colour(label)}">{esc(label)} {sentence.scores[label]:.2f}</span>'
            for label in sentence.selected
        )
        items.append(f"<li>{esc(sentence.text)}{chips or _NO_EMOTION}</li>")
    return f'<details class="ge-sents" open><summary>Per sentence ({len(items)})</summary><ol>{"".join(items)}</ol></details>'


def summary_html(views: Sequence[ItemView]) -> str:
    """How often each label is on across the texts (missing texts counted apart)."""
    scored = [view for view in views if view.scores is not None]
    missing = sum(view.text is None for view in views)
    counts = Counter(label for view in scored for label in view.selected or [])
    rows = []
    for label, count in counts.most_common():
        share = count / len(scored)
        rows.append(
            f'<span class="ge-label">{esc(label)}</span><span class="ge-track"><span class="ge-fill" '
            f'style="width:{share * 100:.1f}%;background:{label_colour(label)}"></span></span>'
            f'<span class="ge-val">{share:.0%}</span>'
        )
    head = f"{len(scored)} texts scored" + (f", {missing} missing (no scores, not counted)" if missing else "")
    body = f'<div class="ge-bars">{"".join(rows)}</div>' if rows else '<p class="ge-none">No label is on in any text.</p>'
    return (
        f'<section class="ge-summary"><h2>How often each emotion is on</h2><div class="ge-meta">{esc(head)}</div>{body}</section>'
    )
