"""The trends page: indices over the nights, the diary factors with their adjusted p-values, the
article's advice, one self-contained HTML page (figures inline)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from detector.score.category import ADVICE, CATEGORIES, DISCLAIMER
from detector.fileio import write_private
from detector.cohort.trends import FACTOR_ARTICLE, INDICES, SEVERAL_NIGHTS, Trends, factor_label

__all__ = ["render_trends", "write_trends"]


def _plot_indices(tr: Trends) -> Any:
    import matplotlib.dates as mdates

    from detector.report.plots import KIND_COLOURS, PLM_COLOUR, new_figure, style_axes

    df = tr.nights
    limit = tr.settings["plm_index_per_h"]
    fig = new_figure(10.0, 5.4, hspace=0.35, top_in=0.55)
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    x = df["date"].dt.to_pydatetime() if len(df) else []
    for ax, items in ((ax1, (("plm_index", PLM_COLOUR), ("lm_index", KIND_COLOURS["lm"]))),
                      (ax2, (("twitch_index", KIND_COLOURS["twitch"]),))):
        style_axes(ax)
        for col, colour in items:
            ax.plot(x, df[col], "o", ms=4, color=colour, alpha=0.75,
                    label=f"{INDICES[col]} per night")
            ax.plot(x, df[f"{col}_rolling"], "-", lw=2, color=colour,
                    label=f"mean of the last {tr.settings['window_nights']} nights (from "
                          f"night {tr.settings['window_nights']} on)")
        ax.set_ylabel("events per hour")
        ax.set_ylim(bottom=0)
    ax1.axhline(limit, color="#8a4b00", ls="--", lw=1.2)
    ax1.text(0.005, limit, f" {limit:g}/h (ICSD-3 PLM threshold)", transform=ax1.get_yaxis_transform(),
             va="bottom", ha="left", fontsize=8.5, color="#8a4b00")
    ax1.set_title("PLM and leg movement index", fontsize=10, loc="left", pad=14)
    ax2.set_title("Twitch index", fontsize=10, loc="left")
    for ax in (ax1, ax2):
        ax.legend(fontsize=8, ncol=2, loc="lower right", bbox_to_anchor=(1.0, 1.0),
                  frameon=False, borderaxespad=0.1)
    # day and month on every tick (a concise formatter put the month alone on the first one)
    ax2.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=10))
    ax2.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    return fig


def _plot_rest(tr: Trends) -> Any:
    import matplotlib.dates as mdates

    from detector.report.plots import new_figure, style_axes

    df = tr.nights
    fig = new_figure(10.0, 2.4, top_in=0.2)
    ax = fig.subplots()
    style_axes(ax)
    x = df["date"].dt.to_pydatetime() if len(df) else []
    ax.bar(x, df["rest_h"], width=0.8, color="#56B4E9")
    ax.set_ylabel("rest (h)")
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=10))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    return fig


def _signed(x: Any, digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:+.{digits}f}"


def _factor_table(tr: Trends) -> str:
    from detector.report.page import escape

    f = tr.factors
    if not len(f):
        return ('<section id="factors"><h2>Diary factors</h2><p>No diary was given. Keep a '
                'diary (<code>legtwitch trends --template diary.csv</code> writes a template) '
                'to see how caffeine, alcohol, stress, exercise, sleep and water went with '
                'your nights.</p></section>')
    rows = []
    for _, r in f.iterrows():
        ci = ("" if math.isnan(r["ci_low"]) else
              f"{_signed(r['ci_low'])} to {_signed(r['ci_high'])}")
        cls = ' class="high"' if r["claim"] in ("goes_with_higher", "goes_with_lower") else ""
        rows.append(f'<tr{cls} data-factor="{escape(r["factor"])}" data-index="{escape(r["index"])}" '
                    f'data-claim="{escape(r["claim"])}"><td><code>{escape(r["factor"])}</code></td>'
                    f'<td>{escape(INDICES[r["index"]])}</td><td class="num">{int(r["n"])}</td>'
                    f'<td class="num">{_signed(r["rho"])}</td><td class="num">{ci}</td>'
                    f'<td class="num">{_p(r["p_holm"])}</td><td>{escape(r["sentence"])}</td></tr>')
    k = tr.n_comparisons
    multi = (f"{k} factor-index pairs were compared. At the 5% level about 1 in 20 pairs "
             "looks related by chance alone, so one link among many may be luck; the adjusted "
             "p (Holm) allows for the number of pairs, and a link with an adjusted p above "
             f"{tr.settings['alpha']:g} may be chance.") if k else ""
    return ('<section id="factors"><h2>How the diary went with the nights</h2>'
            '<p class="explain">rho is Spearman\u2019s rank correlation over the nights that '
            'have both a diary value and a measurement: +1 means the more of the factor, the '
            'higher the index every time; 0 means no relation; \u22121 the lower. The 95% '
            'interval shows how sure that is (Fisher z); when it includes 0 there is no clear '
            f'link. With fewer than {tr.settings["min_nights"]} nights nothing is claimed. A '
            'diary line goes with the night that starts on the evening of its date.</p>'
            '<div class="scroll"><table><tr><th>Factor</th><th>Index</th><th>Nights</th>'
            '<th>rho</th><th>95% CI</th><th>Adjusted p</th><th>In words</th></tr>'
            + "".join(rows) + '</table></div>'
            f'<p class="explain">{escape(multi)} These numbers show what went together on the same '
            'nights. They do not show that a factor is behind the twitches: it could be the '
            'other way round, or a third thing (a hard week) could move both. To find out, '
            'change one thing for a couple of weeks and look again.</p></section>')


def _p(p: Any) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "&lt; 0.001" if p < 0.001 else f"{p:.3f}"


def _advice_card(tr: Trends) -> str:
    from detector.report.page import advice_row_html, escape

    adv = tr.advice
    rows = []
    # the row that fits these nights first; the article's words shown as a quotation
    for key, art in sorted(ADVICE.items(), key=lambda kv: kv[0] != adv["key"]):
        rows.append(advice_row_html(key, art, art["text"], fits=key == adv["key"],
                                    fits_label="fits these nights"))
    reasons = "".join(f"<li>{escape(r)}</li>" for r in adv["reasons"])
    factor_html = ""
    linked = [f for f in adv["factors"] if f in FACTOR_ARTICLE]
    if linked:
        items = "".join(f"<li><strong>{escape(factor_label(f))}</strong>: the article lists "
                        f"\u201c{escape(FACTOR_ARTICLE[f][0])}\u201d and says \u201c"
                        f"{escape(FACTOR_ARTICLE[f][1])}\u201d</li>" for f in linked)
        factor_html = ("<p><strong>What the article says about the factors that went with "
                       f"higher indices</strong></p><ul class=\"reasons\">{items}</ul>")
    title = ("Worth showing to a doctor" if adv["consult_doctor"] else
             "Lifestyle may be worth a look" if adv["key"] == "long_term_management" else
             "Nothing that stands out")
    return ('<section id="category"><h2>What these nights look like</h2><div class="card">'
            f'<p class="kicker">Over {len(tr.nights)} nights</p><h3>{escape(title)}</h3>'
            f'<ul class="reasons">{reasons}</ul>{factor_html}'
            '<p><strong>What the article suggests</strong></p>'
            f'<div class="advice">{"".join(rows)}</div></div></section>')


def _category_counts(tr: Trends) -> str:
    from detector.report.page import escape

    if "category" not in tr.nights:
        return ""
    counts = tr.nights["category"].dropna().astype(str).value_counts()
    items = "".join(f"<li>{escape(CATEGORIES.get(c, {}).get('title', c))}: {n} night"
                    f"{'s' if n != 1 else ''}</li>" for c, n in counts.items())
    return f"<p><strong>Night by night, the closest category was</strong></p><ul>{items}</ul>"


def _nights_table(tr: Trends, links: dict[str, str] | None = None) -> str:
    from detector.report.page import escape, number_text

    df = tr.nights
    extra = list(tr.settings.get("diary_factors", []))
    head = ("<tr><th>Night of</th><th>Folder</th><th>PLM /h</th><th>LM /h</th><th>Twitch /h</th>"
            "<th>Rest</th><th>Category</th>" + "".join(f"<th><code>{escape(c)}</code></th>"
                                                      for c in extra) + "</tr>")
    rows = []
    for _, r in df.iterrows():
        cat = CATEGORIES.get(str(r.get("category")), {}).get("title", r.get("category", ""))
        night = str(r.get("night", ""))
        href = (links or {}).get(night)
        folder = (f'<a href="{escape(href)}">{escape(night)}</a>' if href else escape(night))
        rows.append(f"<tr><td>{r['date']:%a %d %b %Y}</td><td>{folder}</td>"
                    + "".join(f'<td class="num">{number_text(r[c])}</td>' for c in INDICES)
                    + f'<td class="num">{number_text(r["rest_h"])} h</td><td>{escape(cat)}</td>'
                    + "".join(f'<td class="num">{number_text(r[c], 1)}</td>' for c in extra) + "</tr>")
    return ('<details id="nights"><summary>Every night</summary><div class="scroll"><table>'
            f'{head}{"".join(rows)}</table></div></details>')


def _limits() -> str:
    from detector.report.page import escape

    items = [
        "Sleep: there is no brain-wave (EEG) recording, so the sensor cannot tell sleep from "
        "quiet wakefulness. Indices are per hour of rest, not per hour of sleep.",
        "Breathing: leg movements that follow breathing pauses (apnoeas) look the same as "
        "periodic limb movements; if you snore or stop breathing at night the PLM index may be "
        "too high.",
        "Some movements: tensing a muscle without moving the leg, and toe-only movements, "
        "barely move a sensor on the shin or ankle and can be missed.",
        "The other leg is measured only when a second sensor was worn.",
        "Symptoms: the urge to move, discomfort and daytime sleepiness matter for a diagnosis, "
        "and only you can report them.",
        "The diary: it records what you remember; a few weeks of nights can show what went "
        "together, not why.",
    ]
    li = "".join(f"<li>{escape(t)}</li>" for t in items)
    return (f'<section id="limits"><h2>What an accelerometer cannot see</h2>'
            f'<ul class="limits">{li}</ul></section>')


def render_trends(tr: Trends, links: dict[str, str] | None = None) -> str:
    """Render the multi-night report as one self-contained HTML page.

    Parameters
    ----------
    tr : Trends

    Returns
    -------
    str
        The HTML document: summary numbers, "not a diagnosis", what the nights look like with
        the article's advice (when to consult a doctor), indices per night over time with the
        15/h PLM line, rest hours, the trend test, the diary factor table, what an
        accelerometer cannot see, and every night. Figures are embedded as base64 PNG; nothing
        is loaded from elsewhere, and text from files is HTML-escaped.
    """
    from detector.report.page import (PAGE_CSS, escape, figure_section, number_text, tile_html,
                                      version_text)

    df = tr.nights
    limit = tr.settings["plm_index_per_h"]
    first, last = (df["date"].min(), df["date"].max()) if len(df) else (None, None)
    span = f"{first:%d %b %Y} \N{EN DASH} {last:%d %b %Y}" if first is not None else "none"
    adv = tr.advice
    plm_trend = tr.trend.set_index("index").loc["plm_index"]
    tiles = "".join([
        tile_html("n_nights", "Nights", str(len(df)), "", span),
        tile_html("median_plm_index", "Median PLM index", number_text(df["plm_index"].median()), "/h",
              f"threshold {limit:g}/h"),
        tile_html("n_high_recent", "Nights above threshold",
              f"{adv['n_high_recent']} of {adv['n_recent']}", "",
              f"PLM index above {limit:g}/h, last {adv['n_recent']} nights (nights too short "
              "for a verdict not counted)",
              adv["n_high_recent"] >= SEVERAL_NIGHTS),
        tile_html("plm_trend", "PLM trend", _signed(plm_trend["rho"]), "rho",
              str(plm_trend["claim"]).replace("_", " "), plm_trend["claim"] == "rising"),
        tile_html("median_twitch_index", "Median twitch index", number_text(df["twitch_index"].median()),
              "/h", ""),
        tile_html("median_rest_h", "Median rest", number_text(df["rest_h"].median()), "h", "per night"),
    ])
    trend_items = "".join(f'<li data-index="{escape(r["index"])}" data-claim="{escape(r["claim"])}">'
                          f'{escape(r["sentence"])}</li>' for _, r in tr.trend.iterrows())
    notes = "".join(f"<li>{escape(n)}</li>" for n in tr.notes)
    source = tr.settings.get("source", "")
    diary = tr.settings.get("diary_source")
    sub = (f'<p class="sub">{escape(source)}' + (f" \N{MIDDLE DOT} diary {escape(diary)}" if diary else "")
           + "</p>") if source else ""
    body = [
        f"<header><h1>Nights over time: leg movements</h1>{sub}</header>",
        f'<section id="numbers"><div class="tiles">{tiles}</div></section>',
        '<section class="notdx" id="not-a-diagnosis" role="note"><strong>Not a diagnosis'
        f'</strong>{escape(DISCLAIMER)}</section>',
        _advice_card(tr),
        figure_section("indices", "Indices per night", _plot_indices(tr),
                "Scatter of PLM, leg movement and twitch index per night with rolling means",
                f"Dots: each night, events per hour of rest. Lines: mean of the last "
                f"{tr.settings['window_nights']} nights. Dashed: {limit:g}/h, the ICSD-3 "
                "threshold for periodic limb movements in adults."),
        f'<section id="trend"><h2>Trend</h2><ul>{trend_items}</ul><p class="explain">Spearman'
        "\u2019s rank correlation of each index with the night order (first night to last): "
        f"a rise or fall is named when p &lt; {tr.settings['alpha']:g}.</p>"
        f"{_category_counts(tr)}</section>",
        figure_section("rest", "Rest per night", _plot_rest(tr), "Bar chart of rest hours per night",
                "Hours of rest each night: the recording minus gaps and sustained movements "
                "(turning over, getting up). The indices are per hour of rest."),
        _factor_table(tr),
        _limits(),
        ('<section id="notes"><h2>Notes</h2><ul>' + notes + "</ul></section>") if notes else "",
        f'<section id="all-nights"><h2>Every night</h2>{_nights_table(tr, links)}</section>',
    ]
    version = version_text()
    footer = (f"<footer>legtwitch{' ' + escape(version) if version else ''} \N{MIDDLE DOT} "
              "not a diagnosis</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Nights over time \N{EM DASH} {escape(span)}</title><style>{PAGE_CSS}"
            "tr.high td { background: var(--warnbg); }</style></head>"
            f"<body><main>{''.join(body)}{footer}</main></body></html>\n")


def write_trends(tr: Trends, path: str | Path) -> Path:
    """Write the trends page to ``path`` (mode 0600: it is health data); each night's row links
    to its ``report.html`` when the results folder has one."""
    import os

    links: dict[str, str] = {}
    source = Path(str(tr.settings.get("source") or ""))
    folder = source if source.is_dir() else source.parent
    for night in tr.nights.get("night", []):
        report = folder / str(night) / "report.html"
        if str(night) and report.is_file():
            links[str(night)] = Path(os.path.relpath(report, Path(path).parent)).as_posix()
    return write_private(path, render_trends(tr, links))
