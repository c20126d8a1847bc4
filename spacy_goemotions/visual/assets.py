"""The stylesheet and script every rendering carries inline: no external file, font or image.

The script only switches which label the words are coloured for; it reads numbers the renderer
wrote into ``data-a`` attributes and never builds HTML, so no user text passes through it. Without
JavaScript the words stay coloured for the first explained label.
"""

from __future__ import annotations

from .palette import FAINT, LOWERS_RGB, OFF_COLOUR, RAISES_RGB

CSS = f"""
.ge-root {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #1f2328; line-height: 1.5; max-width: 62rem; }}
.ge-root h1 {{ font-size: 1.45rem; margin: 0.2rem 0 0.3rem; }}
.ge-root .ge-meta {{ color: #57606a; font-size: 0.85rem; margin-bottom: 0.8rem; }}
.ge-legend {{ font-size: 0.8rem; color: #57606a; margin: 0.3rem 0 0.8rem; }}
.ge-key {{ display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; vertical-align: -0.1rem;
  margin: 0 0.2rem 0 0.6rem; }}
.ge-item {{ border: 1px solid #d0d7de; border-radius: 8px; padding: 0.8rem 1rem; margin: 0 0 0.9rem; background: #fff; }}
.ge-text {{ white-space: pre-wrap; word-wrap: break-word; margin: 0 0 0.6rem; font-size: 1rem; }}
.ge-missing {{ color: #8c959f; font-style: italic; }}
.ge-w {{ border-radius: 3px; }}
.ge-switch {{ font-size: 0.8rem; color: #57606a; margin: 0 0 0.6rem; }}
.ge-switch button {{ font: inherit; border: 1px solid #d0d7de; background: #f6f8fa; border-radius: 999px;
  padding: 0.05rem 0.6rem; margin: 0 0.25rem 0.25rem 0; cursor: pointer; color: #1f2328; }}
.ge-switch button[aria-pressed="true"] {{ background: #1f2328; color: #fff; border-color: #1f2328; }}
.ge-bars {{ display: grid; grid-template-columns: minmax(7rem, max-content) 1fr 3.2rem; gap: 0.2rem 0.6rem;
  align-items: center; font-size: 0.85rem; max-width: 34rem; }}
.ge-label {{ white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
.ge-track {{ background: #eef1f4; border-radius: 3px; height: 0.7rem; overflow: hidden; }}
.ge-fill {{ display: block; height: 100%; border-radius: 3px; }}
.ge-val {{ text-align: right; font-variant-numeric: tabular-nums; }}
.ge-off .ge-label, .ge-off .ge-val {{ color: #8c959f; }}
.ge-off .ge-fill {{ background: {OFF_COLOUR} !important; }}
.ge-sents {{ margin-top: 0.6rem; font-size: 0.85rem; }}
.ge-sents summary {{ cursor: pointer; color: #57606a; }}
.ge-sents ol {{ margin: 0.4rem 0 0; padding-left: 1.4rem; }}
.ge-sents li {{ margin-bottom: 0.25rem; }}
.ge-chip {{ display: inline-block; border-radius: 999px; padding: 0 0.45rem; margin-left: 0.3rem; color: #fff;
  font-size: 0.75rem; white-space: nowrap; }}
.ge-none {{ color: #8c959f; margin-left: 0.3rem; }}
.ge-summary {{ border: 1px solid #d0d7de; border-radius: 8px; padding: 0.8rem 1rem; margin: 0 0 1.2rem; background: #f6f8fa; }}
.ge-summary h2 {{ font-size: 1.05rem; margin: 0 0 0.5rem; }}
"""

_RAISE = ", ".join(map(str, RAISES_RGB))
_LOWER = ", ".join(map(str, LOWERS_RGB))

SCRIPT = f"""
(function () {{
  function colour(value, scale) {{
    var share = scale > 0 ? Math.abs(value) / scale : 0;
    if (share < {FAINT}) {{ return "transparent"; }}
    var alpha = 0.1 + 0.75 * Math.min(share, 1);
    return "rgba(" + (value > 0 ? "{_RAISE}" : "{_LOWER}") + ", " + alpha.toFixed(2) + ")";
  }}
  function paint(item, k, name) {{
    var words = item.querySelectorAll(".ge-w");
    var values = [], scale = 0, i;
    for (i = 0; i < words.length; i++) {{
      values.push(parseFloat(words[i].getAttribute("data-a").split(" ")[k]));
      scale = Math.max(scale, Math.abs(values[i]));
    }}
    for (i = 0; i < words.length; i++) {{
      words[i].style.background = colour(values[i], scale);
      words[i].title = name + " " + (values[i] > 0 ? "+" : "") + values[i].toFixed(3);
    }}
    var buttons = item.querySelectorAll(".ge-switch button");
    for (i = 0; i < buttons.length; i++) {{
      buttons[i].setAttribute("aria-pressed", String(i === k));
    }}
  }}
  var items = document.querySelectorAll(".ge-item[data-ge-explained]");
  for (var n = 0; n < items.length; n++) {{
    (function (item) {{
      if (item.getAttribute("data-ge-ready")) {{ return; }}
      item.setAttribute("data-ge-ready", "1");
      var buttons = item.querySelectorAll(".ge-switch button");
      for (var b = 0; b < buttons.length; b++) {{
        (function (k, button) {{
          button.addEventListener("click", function () {{ paint(item, k, button.textContent); }});
        }})(b, buttons[b]);
      }}
    }})(items[n]);
  }}
}})();
"""
