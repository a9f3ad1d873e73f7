"""Profile text is untrusted: names and file names go to the terminal only
with control characters made visible, so a profile cannot move the cursor,
retitle the terminal or ring the bell."""
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text):
    """text with C0/C1 control characters (ESC, BEL, NUL, newlines...) escaped as \\xNN."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
