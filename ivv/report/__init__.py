"""The gate-review report, rendered from a run bundle alone.

`render` derives the verdicts and writes gate-review.md / .html (and .pdf when asked) through the Jinja
templates in `templates/` (one template pair per part: `part-NAME.html.j2`, `part-NAME.md.j2`); `context` builds what
the templates read, `criteria` one view per criterion (binding record, repeats, per-target rows,
findings, excerpts); `plots` draws every SVG plot ivv makes (record series, load latency and memory);
`pdf` prints the HTML to PDF with headless Chromium over its DevTools protocol.
`fleet` builds the fleet parts (criterion x device grid, a section per device); `compare` a run against
its baseline (`ivv compare`); `trend` each figure over a folder of runs (`ivv trend`).
Importing this package imports none of them (the load runner imports `plots` alone).
"""
