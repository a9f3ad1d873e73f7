"""The interactive flame graph: one self-contained, offline HTML file.

The page inlines its script, stylesheet and data (the C core's viewer JSON),
so it opens from file:// with no network. Its Content-Security-Policy allows
only the one inline script (by hash) and no fetches at all, as a second
guard behind the viewer never treating profile text as HTML."""
import base64
import hashlib
import html
import json
import os
import re
import sys
import webbrowser

from pyrometer import _native

_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


_VIEWER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "viewer")


def _asset(name):
    with open(os.path.join(_VIEWER_DIR, name), encoding="utf-8") as f:
        return f.read()


def _script_json(value):
    """JSON that cannot end a <script> element or a JS statement early."""
    text = json.dumps(value, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def render_html(profile, title):
    """The page for a _native.Profile, as UTF-8 bytes."""
    return render_html_data(_native.viewer_json(profile), title)


def render_html_data(data, title):
    """The page around viewer JSON (bytes from _native.viewer_json, or a
    document of the same shape built by hand in tests), as UTF-8 bytes.
    The JSON must already be safe inside <script>, as viewer_json's is."""
    data = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    script = _asset("viewer.js")
    css = _asset("viewer.css")
    if "</script" in script.lower() or "</style" in css.lower():
        raise RuntimeError("viewer assets must not close their own element")
    # The template's line break after <script> is part of the hashed text.
    script_digest = base64.b64encode(hashlib.sha256(("\n" + script + "\n").encode("utf-8")).digest()).decode()
    csp = ("default-src 'none'; script-src 'sha256-" + script_digest + "'; style-src 'unsafe-inline'; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    values = {
        "CSP": csp,
        "TITLE": html.escape(title, quote=True),
        "CSS": css,
        "TITLE_JSON": _script_json(title),
        "DATA": data,
        "JS": script,
    }
    # One pass over the template, so text inside the data is never expanded.
    page = _PLACEHOLDER.sub(lambda m: values[m.group(1)], _asset("template.html"))
    return page.encode("utf-8")


def write_flamegraph(profile, out_path, title=None):
    """Writes the flame graph of a _native.Profile to out_path; returns the path."""
    out_path = os.fspath(out_path)
    if title is None:
        title = "pyrometer flame graph"
    page = render_html(profile, title)
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(page)
    os.replace(tmp, out_path)
    return out_path


def _browser_possible():
    """False where only a console browser could start (Linux or BSD with no
    display): webbrowser would run lynx or w3m in the user's terminal."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def open_in_browser(path):
    """Opens the page in a browser when one is available, else prints where
    it is. Returns True when a browser was asked to open it."""
    path = os.path.abspath(path)
    browser = None
    if _browser_possible():
        try:
            browser = webbrowser.get()
        except webbrowser.Error:
            browser = None
    if browser is not None:
        try:
            if browser.open("file://" + path):
                return True
        except Exception:  # noqa: BLE001 - a broken browser must not lose the path
            pass
    print(f"no browser available; open {path}")
    return False
