"""The report exporter skips nbconvert's BeautifulSoup pass but writes the same page: the
``alt`` and ``tabindex`` it added are added by ``accessible`` instead."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402
from nbconvert import HTMLExporter  # noqa: E402

from runbook_lib.run import html as report_html  # noqa: E402


def _png() -> str:
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1, 4])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _executed_notebook(path: Path) -> Path:
    """A notebook with the outputs a flow writes: a chart, a pandas table, text, Markdown,
    an HTML image without alt, a script, and hostile text."""
    v4 = nbformat.v4
    table = pd.DataFrame({"path": ["/api/<b>x</b>", "/login"], "errors": [3, 1]}).to_html()
    cells = [
        v4.new_markdown_cell("# Triage\nWhat we look for."),
        v4.new_code_cell("chart()", outputs=[v4.new_output("display_data", data={"image/png": _png()})]),
        v4.new_code_cell("table()", outputs=[v4.new_output("display_data", data={"text/html": table})]),
        v4.new_code_cell(
            "text()", outputs=[v4.new_output("stream", name="stdout", text="<script>alert(1)</script> & done\n")]
        ),
        v4.new_code_cell("md()", outputs=[v4.new_output("display_data", data={"text/markdown": "**bold** <i>x</i>"})]),
        v4.new_code_cell(
            "img()",
            outputs=[
                v4.new_output("display_data", data={"text/html": f'<p><img src="data:image/png;base64,{_png()}"></p>'})
            ],
        ),
        v4.new_code_cell(
            "js()",
            outputs=[
                v4.new_output("display_data", data={"application/javascript": "alert(2)", "text/plain": "<Javascript>"})
            ],
        ),
    ]
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i}"  # fixed ids: both exports must see the same notebook
    nb = v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nbformat.write(nb, str(path))
    return path


def _normalised(page: str) -> str:
    return str(BeautifulSoup(page, features="html.parser"))


def test_report_matches_nbconvert_own_exporter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = _executed_notebook(tmp_path / "report.ipynb")
    ours = report_html.export_html(notebook, tmp_path / "ours.html", title="INC-1 triage").read_text()
    monkeypatch.setattr(report_html, "_exporter_class", lambda: HTMLExporter)  # the stock exporter
    stock = report_html.export_html(notebook, tmp_path / "stock.html", title="INC-1 triage").read_text()
    assert ours != stock  # the soup reorders attributes; ours leaves the template's order
    assert _normalised(ours) == _normalised(stock)
    soup = BeautifulSoup(ours, features="html.parser")
    images = soup.find_all("img")
    assert len(images) == 2 and all(img.get("alt") == report_html.NO_ALT for img in images)
    outputs = soup.select("div.jp-OutputArea-output")
    assert len(outputs) >= 6 and all(div.get("tabindex") == "0" for div in outputs)
    assert "<script>alert(1)" not in ours and "alert(2)" not in ours


def test_accessible_adds_only_what_is_missing() -> None:
    page = (
        '<img src="a.png"><img alt="cpu chart" src="b.png">'
        '<div class="jp-RenderedText jp-OutputArea-output" data-mime-type="text/plain">'
        '<div class="jp-OutputArea-output" tabindex="-1"><div class="jp-OutputArea-outputs">'
        '<div class="jp-Cell-inputWrapper x"><div class="jp-OutputArea-output-like">'
    )
    got = report_html.accessible(page)
    assert got.count(f'alt="{report_html.NO_ALT}"') == 1 and 'alt="cpu chart"' in got
    assert '<div class="jp-RenderedText jp-OutputArea-output" data-mime-type="text/plain" tabindex="0">' in got
    assert 'tabindex="-1"' in got and got.count("tabindex=") == 3  # output, the kept -1, input wrapper
    assert '<div class="jp-OutputArea-outputs">' in got and '<div class="jp-OutputArea-output-like">' in got
    assert report_html.accessible(got) == got


def test_warm_up_changes_nothing_in_the_next_report(tmp_path: Path) -> None:
    notebook = _executed_notebook(tmp_path / "report.ipynb")
    before = report_html.export_html(notebook, tmp_path / "before.html").read_text(encoding="utf-8")
    report_html.warm_up()
    report_html.warm_up()
    after = report_html.export_html(notebook, tmp_path / "after.html").read_text(encoding="utf-8")
    assert after == before
    report_html._exporter.cache_clear()  # the exporter is kept for the process: a fresh one agrees
    fresh = report_html.export_html(notebook, tmp_path / "fresh.html").read_text(encoding="utf-8")
    assert fresh == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["after.html", "before.html", "fresh.html", "report.ipynb"]
