"""`--config FILE`: options from an ini file's [global] section, as vmprof reads them.

Keys are the long option names (output, period, rate, mode, lines, mem,
quiet, web, alloc, native, ...); the command line wins over the file."""
import configparser

from pyrometer.errors import UsageError

_TRUE = {"1", "yes", "true", "on"}
_FALSE = {"0", "no", "false", "off"}


def load(path, known):
    """{dest: value} from the [global] section; `known` maps key -> 'flag'|'float'|'str'|(choices)."""
    parser = configparser.ConfigParser()
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read config file: {exc}") from None
    except configparser.Error as exc:
        first_line = str(exc).splitlines()[0]
        raise UsageError(f"{path}: not a valid ini file: {first_line}") from None
    if not parser.has_section("global"):
        raise UsageError(f"{path}: no [global] section")
    values = {}
    for key, raw in parser.items("global"):
        dest = key.replace("-", "_")
        kind = known.get(dest)
        if kind is None:
            raise UsageError(f"{path}: unknown option {key!r} in [global]")
        raw = raw.strip()
        if kind == "flag":
            if raw.lower() in _TRUE:
                values[dest] = True
            elif raw.lower() in _FALSE:
                values[dest] = False
            else:
                raise UsageError(f"{path}: option {key!r} must be true or false, not {raw!r}")
        elif kind == "float":
            try:
                values[dest] = float(raw)
            except ValueError:
                raise UsageError(f"{path}: option {key!r} must be a number, not {raw!r}") from None
        elif isinstance(kind, tuple):
            if raw not in kind:
                raise UsageError(f"{path}: option {key!r} must be one of {', '.join(kind)}, not {raw!r}")
            values[dest] = raw
        else:
            values[dest] = raw
    return values
