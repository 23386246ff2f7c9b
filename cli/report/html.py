"""report.html: one self-contained page (plotly.js, the table script and the data inline) beside report.md.

Edge labs are often offline, so nothing is fetched when the page opens. Plots are plotly (interactive
zoom, hover and legend toggles with no JavaScript of ours); the summary table is plain HTML with a small
embedded script that sorts on a header click and filters on every word typed.
"""

import html
import json
import math
from typing import Any, Optional

import pandas as pd

from .data import ReportData
from .html_figures import Figure, report_figures
from .p2 import html_sections as p2_sections

# The summary columns shown in the table (the rest stay in summary.csv).
VALUE_COLUMNS = ("runs", "ok", "status_check", "p50_ms_median_of_runs", "p99_ms_median_of_runs",
                 "throughput_ips_median_of_runs", "warmup_ms_median_of_runs", "peak_rss_mb_max_of_runs",
                 "cgroup_peak_mb_max_of_runs", "cv_max_of_runs", "flags")

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px}
th{background:#eee;cursor:pointer;position:sticky;top:0}td.num{text-align:right}
.plot{width:900px;height:480px;margin:1em 0}details{margin:2px 0}pre{background:#f6f6f6;padding:6px}
"""

# Sort on a header click (numbers as numbers, blanks last), filter rows holding every typed word.
SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function(t){
  var ths=t.tHead.rows[0].cells;
  Array.prototype.forEach.call(ths,function(th,i){th.addEventListener('click',function(){
    var asc=th.getAttribute('data-dir')!=='asc';th.setAttribute('data-dir',asc?'asc':'desc');
    var rows=Array.prototype.slice.call(t.tBodies[0].rows);
    rows.sort(function(a,b){
      var x=a.cells[i].getAttribute('data-v'),y=b.cells[i].getAttribute('data-v');
      if(x===''&&y!=='')return 1;if(y===''&&x!=='')return -1;
      var nx=parseFloat(x),ny=parseFloat(y),c;
      c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:String(x).localeCompare(String(y));
      return asc?c:-c;});
    rows.forEach(function(r){t.tBodies[0].appendChild(r);});});});
});
document.querySelectorAll('input.filter').forEach(function(inp){
  var t=document.getElementById(inp.getAttribute('data-table'));
  inp.addEventListener('input',function(){
    var words=inp.value.toLowerCase().split(/\\s+/).filter(Boolean),n=0;
    Array.prototype.forEach.call(t.tBodies[0].rows,function(r){
      var text=r.textContent.toLowerCase(),ok=words.every(function(w){return text.indexOf(w)>=0;});
      r.style.display=ok?'':'none';if(ok)n++;});
    document.getElementById(inp.getAttribute('data-count')).textContent=n;});
});
"""


def esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _cell_text(v: Any) -> tuple[str, str, bool]:
    """(shown text, sort value, is a number)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "", "", False
    if isinstance(v, bool):
        return str(v).lower(), str(v).lower(), False
    if isinstance(v, (int, float)):
        f = float(v)
        shown = "%d" % f if f.is_integer() else ("%.3g" % f if abs(f) < 1 else "%.2f" % f)
        return shown, repr(f), True
    return str(v), str(v), False


def table(df: pd.DataFrame, table_id: str, columns: Optional[list[str]] = None) -> str:
    """A sortable table with a filter box above it and the count of rows shown."""
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    head = "".join("<th>%s</th>" % esc(c) for c in cols)
    body = []
    for _, row in df.iterrows():
        tds = []
        for c in cols:
            shown, sort, num = _cell_text(row[c])
            tds.append('<td%s data-v="%s">%s</td>' % (' class="num"' if num else "", esc(sort), esc(shown)))
        body.append("<tr>%s</tr>" % "".join(tds))
    return ('<p><input class="filter" id="%s-filter" data-table="%s" data-count="%s-count" placeholder="filter: '
            'words a row must hold" size="40"> <span id="%s-count">%d</span> of %d rows</p>\n'
            '<table class="sortable" id="%s"><thead><tr>%s</tr></thead><tbody>\n%s\n</tbody></table>'
            % (table_id, table_id, table_id, table_id, len(df), len(df), table_id, head, "\n".join(body)))


def plots(figs: list[Figure]) -> str:
    parts = []
    for f in figs:
        div = f.figure.to_html(full_html=False, include_plotlyjs=False, div_id="plot-" + f.name,
                               default_width="900px", default_height="480px",
                               config={"displaylogo": False, "responsive": False})
        parts.append('<h3>%s</h3>\n<div class="plot-wrap" data-name="%s">%s</div>' % (esc(f.title), esc(f.name), div))
    return "\n".join(parts)


def document(title: str, body: str) -> str:
    """The whole page: plotly.js inline once (no CDN), our style and script."""
    from plotly.offline import get_plotlyjs

    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>%s</title>\n<style>%s</style>\n'
            '<script>%s</script>\n</head><body>\n%s\n<script>%s</script>\n</body></html>\n'
            % (esc(title), STYLE, get_plotlyjs(), body, SCRIPT))


def _runs(data: ReportData) -> str:
    """Each run's environment and replay command, one click away."""
    if data.runs.empty:
        return "<p>No runs.</p>"
    env_keys = [k for k in data.environment if k not in ("frameworks", "varies", "campaign")]
    items = []
    for _, r in data.runs.iterrows():
        cell = " ".join("%s=%s" % (k, _cell_text(r.get(k))[0]) for k in data.keys if _cell_text(r.get(k))[0])
        env = {k: r.get(k) for k in env_keys if k in r and _cell_text(r.get(k))[0]}
        env.update({k: r[k] for k in r.index if str(k).startswith("runtime_") and _cell_text(r[k])[0]})
        env = {k: (v.item() if hasattr(v, "item") else v) for k, v in env.items()}
        items.append('<details class="run" id="run-%s"><summary>%s %s: %s (rep %s)</summary>\n'
                     "<p>replay: <code>edgebench replay %s</code></p>\n<pre>%s</pre></details>"
                     % (esc(r["run_id"]), esc(r["run_id"]), esc(r["status"]), esc(cell), esc(r.get("repetition")),
                        esc(r.get("run_dir") or data.campaign_dir / str(r["run_id"])),
                        esc(json.dumps(env, indent=1, sort_keys=True, default=str))))
    return "\n".join(items)


def _ceilings(c: Any) -> list[str]:
    """report/ceilings.py's answer (a Ceilings) as a section: its two tables and its caveats."""
    from .ceilings import INTRO, title

    body = ["<h2>%s</h2>" % esc(title(c)), "<p>%s</p>" % esc(INTRO % c.device),
            "<h3>Largest level that ran ok, per model</h3>", table(c.fits, "ceilings-fit")]
    if not c.memory.empty:
        body += ["<h3>Memory limit below which p50 degrades by more than %.0f%%</h3>" % (100 * c.share),
                 table(c.memory, "ceilings-memory")]
    body += ["<h3>What this emulation cannot see</h3>",
             "<ul>%s</ul>" % "".join("<li>%s</li>" % esc(x) for x in c.caveats)]
    return body


def report_html(data: ReportData, stamp: str) -> str:
    counts = ", ".join("%d %s" % (v, k) for k, v in sorted(data.counts.items())) or "no runs"
    figs, notes = report_figures(data)
    if any(n.startswith("ceiling") for n in data.speed_notes):  # whose timings the plots show
        figs = [Figure(f.name, f.title + " [timings: host CPU, ceiling emulation]", f.figure) for f in figs]
    body = ["<h1>%s</h1>" % esc(data.campaign), "<p>%s; %d cells; written %s</p>" % (esc(counts), len(data.summary),
                                                                                     esc(stamp)),
            "<h2>Cells</h2>"] + ["<p><b>Timings:</b> %s.</p>" % esc(n) for n in data.speed_notes] + [
            table(data.summary, "summary", data.keys + (["timing"] if data.speed_notes else []) + list(VALUE_COLUMNS)),
            "<h2>Plots</h2>", plots(figs) or "<p>No plot: nothing measured to draw.</p>"]
    for title, caption, df, table_id in p2_sections(data.p2):
        body += ["<h2>%s</h2>" % esc(title), "<p>%s</p>" % esc(caption), table(df, table_id) if not df.empty else ""]
    skipped = [("damaged run folder", d, why) for d, why in data.damaged] + [
        ("incomplete run folder", d, why) for d, why in data.incomplete] + [
        ("run kept, a stream unreadable", d, why) for d, why in data.warnings]
    if skipped:
        body += ["<h2>Left out or partly read</h2>", "<ul>%s</ul>" % "".join(
            "<li>%s <code>%s</code>: %s</li>" % (esc(what), esc(d), esc(why)) for what, d, why in skipped)]
    left = notes + data.notes
    if left:
        body += ["<h2>Notes</h2>", "<ul>%s</ul>" % "".join("<li>%s</li>" % esc(n) for n in left)]
    if data.ceilings is not None:
        body += _ceilings(data.ceilings)
    body += ["<h2>Runs</h2>", "<p>Environment and replay command of each run.</p>", _runs(data)]
    return document("edgebench report: %s" % data.campaign, "\n".join(body))
