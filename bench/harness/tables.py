"""Markdown table formatting and number cells."""


def markdown(headers, rows, align=None):
    """A GitHub Markdown table; the first column left-aligned, the rest right-aligned."""
    align = align or (["l"] + ["r"] * (len(headers) - 1))
    def cell(v):
        return str(v).replace("|", "/").replace("\n", " ")
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def na(reason=""):
    return f"n/a ({reason})" if reason else "n/a"


def ratio(x):
    return na() if x is None else f"{x:.2f}×"


def num(x, fmt="{:.1f}"):
    return na() if x is None else fmt.format(x)


def size(nbytes):
    if nbytes is None:
        return na()
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} B"


def seconds(x):
    if x is None:
        return na()
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"
