"""Programs that use pure-Python packages from PyPI, unpacked (not
installed) under PKGS, for CPython 2.7 and 3.x alike. The versions are
pinned in integration/common/record_traces.sh.

    python wl_pkgs.py PKGS MODE SIZE

docutils   (e) reStructuredText to HTML: the first SIZE of docutils' own docs/ files (sorted)
jinja2     (e) Jinja2 + MarkupSafe's pure-Python part: SIZE templates compiled and rendered
chardet    (e) chardet detects the encoding of SIZE of its own test files (sorted)
pygments   (e) Pygments highlights the first SIZE stdlib modules (sorted) to HTML
"""
from __future__ import print_function

import gc
import os
import sys

PKGS, MODE, SIZE = sys.argv[1], sys.argv[2], int(sys.argv[3])


def files(top, suffixes):
    out = []
    for d, dirs, fs in os.walk(top):
        dirs.sort()
        out.extend(os.path.join(d, f) for f in sorted(fs) if f.endswith(suffixes))
    return out


def docutils_():
    sys.path.insert(0, os.path.join(PKGS, "docutils-0.16"))
    from docutils.core import publish_string
    total = 0
    for path in files(os.path.join(PKGS, "docutils-0.16", "docs"), (".txt",))[:SIZE]:
        with open(path, "rb") as f:
            src = f.read().decode("utf-8")
        try:
            out = publish_string(src, source_path=path, writer_name="html",
                                 settings_overrides={"report_level": 5, "halt_level": 5,
                                                     "warning_stream": False, "_disable_config": True})
            total += len(out)
        except Exception as e:  # a doc that needs a file or directive we lack
            print(path, type(e).__name__, file=sys.stderr)
        gc.collect()
    return total


TEMPLATE = u"""{% macro row(item, n) -%}
<tr class="{{ loop_class }}">{% for k in range(n) %}<td>{{ item.name|upper }}{{ k }}</td>{% endfor %}</tr>
{%- endmacro %}
<html><title>{{ title|e }}</title>
{% for item in items if item.keep %}{{ row(item, N) }}
{% if item.tags %}<ul>{% for t in item.tags|sort %}<li>{{ t|title }}</li>{% endfor %}</ul>{% endif %}
{% else %}none{% endfor %}
{{ items|length }} {{ items|map(attribute='name')|join(', ')|truncate(40) }}
</html>"""


def jinja2_():
    sys.path[:0] = [os.path.join(PKGS, "Jinja2-2.11.3", "src"), os.path.join(PKGS, "MarkupSafe-1.1.1", "src")]
    import jinja2
    total = 0
    for i in range(SIZE):
        env = jinja2.Environment(autoescape=True)
        t = env.from_string(TEMPLATE.replace("N)", "%d)" % (1 + i % 4)))
        items = [{"name": "item<%d>" % j, "keep": j % 3 != 0, "tags": ["t%d" % (j % 5), "x&y"] if j % 2 else []}
                 for j in range(10 + i % 10)]
        total += len(t.render(title="page %d & co" % i, items=items, loop_class="r%d" % (i % 2)))
    return total


def chardet_():
    sys.path.insert(0, os.path.join(PKGS, "chardet-3.0.4"))
    import chardet
    total = 0
    for path in files(os.path.join(PKGS, "chardet-3.0.4", "tests"), (".txt", ".html", ".xml", ".srt"))[:SIZE]:
        with open(path, "rb") as f:
            data = f.read()[:3000]
        r = chardet.detect(data)
        total += int((r["confidence"] or 0) * 100)
    return total


def pygments_():
    sys.path.insert(0, os.path.join(PKGS, "Pygments-2.5.2"))
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer
    libdir = os.path.dirname(os.__file__)
    total = 0
    for f in sorted(f for f in os.listdir(libdir) if f.endswith(".py"))[:SIZE]:
        with open(os.path.join(libdir, f), "rb") as fh:
            src = fh.read().decode("latin-1")
        total += len(highlight(src, PythonLexer(), HtmlFormatter()))
    return total


print({"docutils": docutils_, "jinja2": jinja2_, "chardet": chardet_, "pygments": pygments_}[MODE]())
