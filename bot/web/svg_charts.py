"""Charts drawn on the server as inline SVG: no script, no library, readable on a phone.

Each chart is a <figure> with a text description for screen readers and its numbers as a
table under a disclosure, so nothing is only in the picture."""

from __future__ import annotations

from collections.abc import Sequence

from bot.web.admin_render import Html, esc, table

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 220, 36, 28, 10
PALETTE = 6  # classes s0..s5 in admin.css


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return max(step * 4, 4)
    return value


def _figure(title: str, summary: str, svg: str, legend: str, numbers: Html) -> Html:
    return Html(
        f'<figure class="chart"><figcaption>{esc(title)}</figcaption>{svg}{legend}'
        f"<details><summary>The numbers</summary>{numbers}</details></figure>"
    )


def _legend(names: Sequence[str]) -> str:
    items = "".join(
        f'<li><span class="swatch s{i % PALETTE}"></span>{esc(n)}</li>' for i, n in enumerate(names)
    )
    return f'<ul class="legend">{items}</ul>'


def stacked_bars(title: str, labels: Sequence[str], series: dict[str, list[int]]) -> Html:
    """One bar per label (a day), stacked by series (a channel, an action)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / max(len(labels), 1)
    bar = max(slot * 0.7, 1)
    shapes = []
    for tick in range(0, 5):
        value = top * tick // 4
        y = PAD_TOP + plot_h - plot_h * value / top
        shapes.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{PAD_LEFT - 4}" y="{y + 4:.1f}" '
            f'text-anchor="end">{value}</text>'
        )
    for i, label in enumerate(labels):
        x = PAD_LEFT + i * slot + (slot - bar) / 2
        base = float(PAD_TOP + plot_h)
        for index, (name, values) in enumerate(series.items()):
            if not values[i]:
                continue
            h = plot_h * values[i] / top
            base -= h
            shapes.append(
                f'<rect class="s{index % PALETTE}" x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}"><title>{esc(label)} · {esc(name)}: {values[i]}</title></rect>'
            )
        if i % max(len(labels) // 6, 1) == 0:
            shapes.append(
                f'<text class="tick" x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{esc(label[5:])}</text>'
            )
    total = sum(totals)
    summary = f"{title}: {total} in all over {len(labels)} days"
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{esc(summary)}">'
        f"<title>{esc(summary)}</title>{''.join(shapes)}</svg>"
    )
    rows = [
        (label, *(v[i] for v in series.values())) for i, label in enumerate(labels) if totals[i]
    ]
    numbers = table(("day", *series), rows) if rows else Html("<p>None in this period.</p>")
    return _figure(title, summary, svg, _legend(list(series)), numbers)


def horizontal_bars(title: str, values: Sequence[tuple[str, int]]) -> Html:
    """One bar per label, longest first (e.g. runs per skill)."""
    ordered = sorted(values, key=lambda item: (-item[1], item[0]))
    top = max((v for _, v in ordered), default=0) or 1
    row_h, label_w = 26, 170
    height = max(len(ordered), 1) * row_h + 8
    shapes = []
    for i, (label, value) in enumerate(ordered):
        y = 4 + i * row_h
        w = (WIDTH - label_w - 50) * value / top
        shapes.append(
            f'<text class="tick" x="{label_w - 6}" y="{y + 16}" '
            f'text-anchor="end">{esc(label)}</text>'
            f'<rect class="s{i % PALETTE}" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="18">'
            f"<title>{esc(label)}: {value}</title></rect>"
            f'<text class="tick" x="{label_w + w + 6:.1f}" y="{y + 16}">{value}</text>'
        )
    summary = f"{title}: " + (", ".join(f"{k} {v}" for k, v in ordered) or "none yet")
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{esc(summary)}">'
        f"<title>{esc(summary)}</title>{''.join(shapes)}</svg>"
    )
    numbers = table(("", "count"), ordered) if ordered else Html("<p>None yet.</p>")
    return _figure(title, summary, svg, "", numbers)
