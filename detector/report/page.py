"""The page kit every HTML page of legtwitch is built from: escaping, numbers for people, the
stylesheet, tiles, figure sections and colour keys. Pages are self-contained (inline CSS, figures
as base64 PNG) and can be read offline."""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping
from typing import Any
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["FIGURE_DPI", "advice_row_html", "escape", "is_missing", "number_text", "count_text", "value_text",
           "figure_data_uri", "img_tag", "PAGE_CSS", "tile_html", "figure_section", "colour_key",
           "marker_html", "version_text"]


#: Resolution of the embedded figures, in dots per inch (figures are 10 in wide -> 1000 px).
FIGURE_DPI = 100


def escape(value: Any) -> str:
    """HTML-escape any value (quotes included)."""
    return html.escape(str(value), quote=True)


def is_missing(x: Any) -> bool:
    if x is None or x is pd.NA:
        return True
    try:
        return bool(isinstance(x, float) and math.isnan(x))
    except TypeError:
        return False


def number_text(x: Any, digits: int = 1) -> str:
    """Format a number with ``digits`` decimals; None/NaN become ``n/a``."""
    if is_missing(x):
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "n/a"
    return f"{v:.{digits}f}"


def count_text(x: Any) -> str:
    """Format a count (an integer, thousands separated by commas) or ``n/a``."""
    return "n/a" if is_missing(x) else f"{int(x):,}"


def value_text(x: Any) -> str:
    """Format any metric or setting compactly (floats to at most 3 decimals)."""
    if is_missing(x):
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.3f}".rstrip("0").rstrip(".") if abs(x) >= 1e-3 or x == 0 else f"{x:.3g}"
    if isinstance(x, Mapping):
        return ", ".join(f"{k}: {value_text(v)}" for k, v in x.items()) or "none"
    if isinstance(x, (list, tuple)):
        return ", ".join(value_text(v) for v in x) or "none"
    try:
        return value_text(float(x)) if not isinstance(x, str) else x
    except (TypeError, ValueError):
        return str(x)


def figure_data_uri(fig: Figure, dpi: int = FIGURE_DPI) -> str:
    """Render a figure to a ``data:image/png;base64,...`` URI.

    Parameters
    ----------
    fig : Figure
    dpi : int
        Dots per inch of the PNG.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def img_tag(fig: Figure, alt: str) -> str:
    return (f'<img src="{figure_data_uri(fig)}" alt="{escape(alt)}" '
            f'width="{int(fig.get_figwidth() * FIGURE_DPI)}" '
            f'height="{int(fig.get_figheight() * FIGURE_DPI)}">')


PAGE_CSS = """
:root { --ink:#1f2328; --muted:#57606a; --line:#d8dee4; --card:#f6f8fa; --accent:#0072B2;
        --warn:#8a4b00; --warnbg:#fff4e0; --ok:#00704f; color-scheme: light; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.5;
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
h1 { font-size: 1.7rem; line-height: 1.2; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .3rem;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 1.15rem; margin: 0 0 .4rem; }
p { margin: .4rem 0 .8rem; }
.sub { color: var(--muted); margin: 0 0 1rem; overflow-wrap: anywhere; }
.meta { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr));
        gap: .4rem 1rem; margin: .8rem 0 1rem; padding: 0; }
.meta div { border-left: 3px solid var(--line); padding-left: .6rem; }
.meta dt { font-size: .8rem; color: var(--muted); text-transform: uppercase;
           letter-spacing: .03em; }
.meta dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.notdx { background: var(--warnbg); border: 2px solid #e0a040; border-radius: .6rem;
         padding: .8rem 1rem; margin: 1rem 0 1.4rem; }
.notdx strong { color: var(--warn); font-size: 1.1rem; display: block; margin-bottom: .2rem; }
.warnings { background: #fdecea; border: 2px solid #c0392b; border-radius: .6rem;
            padding: .8rem 1rem; margin: 1rem 0; }
.warnings strong { color: #a93226; font-size: 1.1rem; display: block; }
.warnings ul { margin: .3rem 0 0; padding-left: 1.2rem; }
.card { border: 1px solid var(--line); border-radius: .8rem; padding: 1.1rem 1.2rem;
        background: var(--card); }
.card .kicker { font-size: .8rem; color: var(--muted); text-transform: uppercase;
                letter-spacing: .04em; margin: 0; }
.card h3 { font-size: 1.45rem; color: var(--accent); margin: .1rem 0 .5rem; }
.reasons { margin: .2rem 0 1rem 1.1rem; padding: 0; }
.reasons li { margin: .15rem 0; }
.advice { display: grid; gap: .6rem; }
.advice .row { background: #fff; border: 1px solid var(--line); border-radius: .6rem;
               padding: .6rem .8rem; }
.advice .row.fits { border: 2px solid var(--accent); }
.advice .label { font-weight: 700; }
.advice .fitnote { font-size: .8rem; color: #fff; background: var(--accent); border-radius: 1rem;
                   padding: .05rem .5rem; margin-left: .4rem; white-space: nowrap; }
.advice .examples { font-size: .85rem; color: var(--muted); margin: .1rem 0 .2rem; }
.advice p { margin: .2rem 0 0; }
.advice .general { font-size: .8rem; color: var(--muted); margin-left: .5rem; }
.advice .todo { margin: .35rem 0 .3rem; }
.advice blockquote.article { margin: .3rem 0 0; padding: .1rem 0 .1rem .7rem;
                             border-left: 3px solid var(--line); color: var(--muted);
                             font-style: italic; }
.advice blockquote.article footer { font-size: .8rem; font-style: normal; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(10.5rem, 1fr));
         gap: .6rem; }
.tile { border: 1px solid var(--line); border-radius: .6rem; padding: .6rem .75rem; }
.tile .name { font-size: .82rem; color: var(--muted); }
.tile .value { font-size: 1.65rem; font-weight: 700; line-height: 1.2; font-variant-numeric:
               tabular-nums; }
.tile .value.long { font-size: 1.3rem; }
.tile .unit { font-size: .85rem; font-weight: 400; color: var(--muted); }
.tile .note { font-size: .8rem; color: var(--muted); }
.tile.high { border-color: #e0a040; background: var(--warnbg); }
.bar { height: .45rem; background: #e6e9ed; border-radius: .3rem; margin-top: .35rem;
       overflow: hidden; }
.bar span { display: block; height: 100%; background: var(--ok); }
.explain { font-size: .92rem; color: var(--muted); }
figure { margin: .6rem 0 1.2rem; }
figure img { display: block; width: 100%; height: auto; border: 1px solid var(--line);
             border-radius: .4rem; }
.wide { overflow-x: auto; -webkit-overflow-scrolling: touch; }
.swipe { display: none; }
figcaption { font-size: .9rem; color: var(--muted); margin-top: .35rem; }
h3.kind { margin-top: 1.4rem; }
h3.kind i, .key i { display: inline-block; width: .8rem; height: .8rem; border-radius: .2rem;
                    margin-right: .4rem; vertical-align: -.05rem; }
.key { display: flex; flex-wrap: wrap; gap: .3rem 1rem; font-size: .9rem; color: var(--muted); }
.key i { height: .25rem; width: 1.2rem; vertical-align: .2rem; }
.key i.env { background: #c2c2c2; height: .7rem; vertical-align: -.05rem; }
.key i.line { background: #666; height: 2px; border-radius: 0; }
.key i.thr { border-top: 2px dashed #000; height: 0; border-radius: 0; }
.key i.band { height: .7rem; width: .9rem; vertical-align: -.05rem; opacity: .45; }
.key i.gap { height: .7rem; width: .9rem; vertical-align: -.05rem; border: 1px solid #888;
             background: repeating-linear-gradient(45deg, #bbb 0 2px, #eee 2px 5px); }
.key .mk { margin-right: .35rem; font-size: .95rem; }
.ex-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(20rem, 1fr));
           gap: 0 .8rem; }
.ex-grid figure { margin: .3rem 0 .7rem; }
.ex-grid figcaption { margin: 0 0 .2rem; color: var(--ink); font-variant-numeric: tabular-nums; }
svg.ex { display: block; width: 100%; height: auto; border: 1px solid var(--line);
         border-radius: .4rem; background: #fff; }
ul.limits li { margin: .3rem 0; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem;
         border-bottom: 1px solid var(--line); }
th { background: var(--card); font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td code, th code { font-size: .85rem; overflow-wrap: break-word; }
.warnlist { color: var(--warn); }
details { border: 1px solid var(--line); border-radius: .6rem; padding: .5rem .8rem;
          margin: .6rem 0; }
summary { cursor: pointer; font-weight: 600; }
details[open] summary { margin-bottom: .5rem; }
footer { margin-top: 2.5rem; font-size: .85rem; color: var(--muted); }
@media (max-width: 40rem) {
  .wide img { width: 40rem; max-width: none; }
  .swipe { display: inline; }
}
@media (max-width: 32rem) {
  body { font-size: 15px; }
  main { padding: .9rem .7rem 2rem; }
  h1 { font-size: 1.4rem; }
  .card { padding: .9rem .8rem; }
  .tile .value { font-size: 1.4rem; }
  .tiles { grid-template-columns: repeat(2, minmax(0, 1fr)); }
}
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .card, .notdx, .tile.high { background: none; }
  h2 { break-after: avoid; }
  figure, .tile, .card, .advice .row, tr { break-inside: avoid; }
  details { border: none; padding: 0; }
  details::details-content { content-visibility: visible; display: block; }
  summary { list-style: none; }
  .key i, .key .mk, h3.kind i, .bar span, .advice .fitnote {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def tile_html(key: str, name: str, value: str, unit: str = "", note: str = "",
              high: bool = False, bar: float | None = None) -> str:
    """One key-number tile of a page (HTML): name, value with unit, a note, an optional bar."""
    bar_html = "" if bar is None else (
        f'<div class="bar" aria-hidden="true"><span style="width:{max(min(bar, 1.0), 0.0):.1%}">'
        "</span></div>")
    return (f'<div class="tile{" high" if high else ""}" data-metric="{escape(key)}">'
            f'<div class="name">{escape(name)}</div>'
            f'<div class="value{" long" if len(value) > 6 else ""}">{escape(value)}'
            + (f' <span class="unit">{escape(unit)}</span>' if unit else "") + "</div>"
            + (f'<div class="note">{escape(note)}</div>' if note else "") + f"{bar_html}</div>")


def figure_section(section_id: str, title: str, fig: Figure, alt: str, caption: str,
                   key: str = "") -> str:
    """A section with one wide figure, its colour key (HTML) and caption (HTML, escaped)."""
    return (f'<section id="{section_id}"><h2>{escape(title)}</h2>{key}<figure><div class="wide">'
            f'{img_tag(fig, alt)}</div><figcaption><span class="swipe">Swipe sideways to see all '
            f'of it. </span>{caption}</figcaption></figure></section>')


def advice_row_html(key: str, art: Mapping[str, Any], text: str, *, fits: bool,
                    fits_label: str, general: bool = True, todo: str = "") -> str:
    """One row of the article's solution table: its label; ``fits_label`` when it ``fits``,
    else "general advice" (when ``general``); ``todo`` (what to do, HTML); the examples and
    goal; and the article's ``text`` as a quotation (its grammar kept)."""
    note = (f'<span class="fitnote">{escape(fits_label)}</span>' if fits else
            '<span class="general">general advice</span>' if general else "")
    examples = (f'<div class="examples">{escape(art["examples"])} \N{EM DASH} goal: '
                f'{escape(art.get("goal", ""))}</div>') if art.get("examples") else ""
    return (f'<div class="row{" fits" if fits else ""}" data-advice="{escape(key)}">'
            f'<span class="label">{escape(art.get("row", key))}</span>{note}{todo}{examples}'
            f'<blockquote class="article"><p>\N{LEFT DOUBLE QUOTATION MARK}{escape(text)}'
            '\N{RIGHT DOUBLE QUOTATION MARK}</p><footer>the article</footer></blockquote></div>')


def colour_key(items: list[tuple[str, str]]) -> str:
    """A colour key: ``(swatch html, label)`` pairs; labels are escaped here."""
    return ('<p class="key">' + "".join(f"<span>{sw}{escape(label)}</span>" for sw, label in items)
            + "</p>")


def marker_html(symbol: str, colour: str) -> str:
    return f'<b class="mk" style="color:{colour}">{symbol}</b>'


def version_text() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
        return version("legtwitch")
    except (ImportError, PackageNotFoundError):
        return ""
