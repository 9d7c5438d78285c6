#!/usr/bin/env python3
"""Draws a gort execution trace (Chrome trace-event JSON, from gort::trace or GORT_TRACE) as
an SVG timeline: one row per track (Ps, Ms, goroutines, as the trace names them), one box per
run, coloured by goroutine, with ticks for instant events (create, unblock). It is what
Perfetto shows, as a static picture for the docs.

    GOMAXPROCS=2 GORT_TRACE=/tmp/t.json cargo run --release --example sieve -- 30
    scripts/trace-svg.py /tmp/t.json docs/img/trace-sieve.svg [--from-us 0] [--span-us 400]
"""

import argparse
import json
import sys
from html import escape

ROW_H = 18
LABEL_W = 150
WIDTH = 1100
PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("svg")
    ap.add_argument("--from-us", type=float, default=0.0, help="window start, microseconds")
    ap.add_argument("--span-us", type=float, default=400.0, help="window length, microseconds")
    ap.add_argument("--max-goroutines", type=int, default=12, help="goroutine rows to draw")
    a = ap.parse_args()

    with open(a.trace) as f:
        d = json.load(f)
    events = d["traceEvents"] if isinstance(d, dict) else d

    proc_names, thread_names = {}, {}
    for e in events:
        if e.get("ph") != "M":
            continue
        name = e.get("args", {}).get("name", "")
        if e.get("name") == "process_name":
            proc_names[e["pid"]] = name
        elif e.get("name") == "thread_name":
            thread_names[(e["pid"], e["tid"])] = name

    start = min((e["ts"] for e in events if "ts" in e), default=0.0) + a.from_us
    end = start + a.span_us
    visible = [e for e in events if "ts" in e and e["ts"] < end and e["ts"] + e.get("dur", 0) > start]

    # Rows: every P and M track, then the first goroutine tracks seen in the window.
    rows = []
    for e in visible:
        key = (e["pid"], e["tid"])
        if key not in rows:
            rows.append(key)
    def row_order(key):
        return (key[0], key[1])
    rows.sort(key=row_order)
    g_pid = next((p for p, n in proc_names.items() if "oroutine" in n), None)
    g_rows = [r for r in rows if r[0] == g_pid][: a.max_goroutines]
    rows = [r for r in rows if r[0] != g_pid] + g_rows

    height = ROW_H * len(rows) + 60
    sx = (WIDTH - LABEL_W - 10) / a.span_us
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="8" y="16" font-size="13">gort execution trace: {escape(a.trace.split("/")[-1])}, '
        f'{a.span_us:g} us from +{a.from_us:g} us (rows: Ps, Ms, goroutines)</text>',
    ]
    y0 = 30
    for i, key in enumerate(rows):
        y = y0 + i * ROW_H
        label = thread_names.get(key) or f"{proc_names.get(key[0], key[0])} {key[1]}"
        fill = "#f7f7f7" if i % 2 else "#ffffff"
        out.append(f'<rect x="0" y="{y}" width="{WIDTH}" height="{ROW_H}" fill="{fill}"/>')
        out.append(f'<text x="6" y="{y + 13}">{escape(label)}</text>')
    for e in visible:
        key = (e["pid"], e["tid"])
        if key not in rows:
            continue
        y = y0 + rows.index(key) * ROW_H
        goid = e.get("args", {}).get("goid", 0)
        colour = PALETTE[goid % len(PALETTE)]
        x = LABEL_W + max(e["ts"] - start, 0) * sx
        if e.get("ph") == "X":
            x1 = LABEL_W + min(e["ts"] + e["dur"] - start, a.span_us) * sx
            w = max(x1 - x, 1.0)
            tip = f'{e["name"]} ({e["dur"]:.1f} us): {e.get("args", {}).get("end", "")}'
            out.append(
                f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{ROW_H - 4}" '
                f'fill="{colour}"><title>{escape(tip)}</title></rect>'
            )
            if w > 28:
                out.append(
                    f'<text x="{x + 2:.1f}" y="{y + 13}" fill="white">G{goid}</text>'
                )
        elif e.get("ph") == "i":
            out.append(
                f'<line x1="{x:.1f}" y1="{y + 1}" x2="{x:.1f}" y2="{y + ROW_H - 1}" '
                f'stroke="black" stroke-width="1"><title>{escape(e["name"])}</title></line>'
            )
    # A time axis.
    axis_y = y0 + len(rows) * ROW_H + 14
    for k in range(0, 11):
        t = a.span_us * k / 10
        x = LABEL_W + t * sx
        out.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{axis_y - 10}" stroke="#ddd"/>')
        out.append(f'<text x="{x - 8:.1f}" y="{axis_y}">{a.from_us + t:g} us</text>')
    out.append("</svg>")
    with open(a.svg, "w") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
