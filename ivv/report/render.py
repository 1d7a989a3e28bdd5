"""Render gate-review.md and gate-review.html (and gate-review.pdf when asked) from a bundle alone.

The same bundle always gives the same Markdown and HTML bytes: no render time in the output, plots
rendered deterministically, records in journal order. Users may override any template (the page or a
single part-NAME template) with their own folder. `render_bundle` derives the verdicts; `write_reports`
turns verdicts into reports, so a test can hand it verdicts it wrote itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from ivv import resources
from ivv.evidence.bundle import VERDICTS, Bundle
from ivv.evidence.redact import redact
from ivv.evidence.verdicts import derive
from ivv.report import pdf, plots
from ivv.report.context import build_context, evidence_sha256, footer_text

DEFAULT_TEMPLATES = resources.shipped("templates")
TEMPLATES = {"markdown": "gate-review.md.j2", "html": "gate-review.html.j2"}
OUTPUTS = {"markdown": "gate-review.md", "html": "gate-review.html", "pdf": "gate-review.pdf"}
PDF_SETTING = "report.pdf"  # gate setting: make gate-review.pdf whenever the bundle is rendered


def _md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    return " ".join(text.replace("|", "\\|").split())


def _fence(value: Any) -> str:
    """Text safe inside a ``` fence."""
    return ("" if value is None else str(value)).replace("```", "'''")


def _fact(value: Any) -> str:
    """A manifest fact as text: nested lists and dicts as compact JSON."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "" if value is None else str(value)


def environment(templates: str | Path | None) -> jinja2.Environment:
    folders = [str(templates)] if templates else []
    folders.append(str(DEFAULT_TEMPLATES))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["md"] = _md_cell
    env.filters["fence"] = _fence
    env.filters["fact"] = _fact
    env.filters["tojson_sorted"] = lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False)
    return env


def render_plots(bundle: Bundle) -> tuple[dict[int, str], dict[int, str]]:
    """SVG text and file path (plots/record-NNNNN.svg) for every record carrying a series."""
    svgs, files = {}, {}
    for record in bundle.records():
        if not isinstance(record.series, dict):
            continue
        svg = plots.svg_for(record.series, f"{record.criterion}: {record.name}", record.threshold)
        if svg is None:
            continue
        relative = f"plots/record-{record.seq:05d}.svg"
        (bundle.path / "plots").mkdir(exist_ok=True)
        (bundle.path / relative).write_text(redact(svg), encoding="utf-8")
        svgs[record.seq], files[record.seq] = redact(svg), relative
    return svgs, files


def wants_pdf(bundle: Bundle) -> bool:
    return bool(bundle.gates and bundle.gates.setting(PDF_SETTING, False) is True)


def write_reports(bundle: Bundle, verdicts: dict, templates: str | Path | None = None,
                  pdf_too: bool | None = None) -> dict[str, Path]:
    """Write gate-review.md and .html from `verdicts`, and gate-review.pdf when `pdf_too` (default: the
    gate's `report.pdf` setting); returns the paths by kind."""
    svgs, files = render_plots(bundle)
    context = build_context(bundle, verdicts, svgs, files)
    env = environment(templates)
    paths = {}
    for kind, template in TEMPLATES.items():
        text = env.get_template(template).render(**context)
        path = bundle.path / OUTPUTS[kind]
        path.write_text(redact(text), encoding="utf-8")
        paths[kind] = path
    if wants_pdf(bundle) if pdf_too is None else pdf_too:
        paths["pdf"] = pdf.print_pdf(paths["html"], bundle.path / OUTPUTS["pdf"], redact(context["footer"]))
    return paths


def write_pdf(bundle_dir: str | Path) -> Path:
    """gate-review.pdf from the bundle's rendered gate-review.html (render it first)."""
    bundle = Bundle.load(bundle_dir)
    footer = footer_text(bundle.manifest.get("run_id"), evidence_sha256(bundle))
    return pdf.print_pdf(bundle.path / OUTPUTS["html"], bundle.path / OUTPUTS["pdf"], redact(footer))


def render_bundle(bundle_dir: str | Path, templates: str | Path | None = None) -> tuple[dict, dict[str, Path]]:
    """Verify the bundle (hash chain, seal, copies), then derive verdicts (re-derived from the gate's
    thresholds), write verdicts.json and the reports into the bundle; returns (verdicts, paths)."""
    bundle = Bundle.load(bundle_dir)
    integrity = bundle.verify()
    verdicts = derive(bundle.records(), bundle.gates, bundle.waivers(), bundle.run_date(), integrity=integrity,
                      selection=bundle.selection(), fleet=bundle.fleet_targets())
    (bundle.path / VERDICTS).write_text(redact(json.dumps(verdicts, indent=2, sort_keys=True)) + "\n",
                                        encoding="utf-8")
    return verdicts, write_reports(bundle, verdicts, templates)
