"""Running the profiled program the way `python` would run it.

A target is a script path, `-m module` or `-c code`. The program sees the
sys.argv, sys.path[0], __name__ == "__main__" and exit status that plain
python would give it; an uncaught exception prints its traceback."""
import importlib.util
import os
import runpy
import sys
import threading
import traceback
import types

from pyrometer.errors import UsageError


# run()'s status for an uncaught KeyboardInterrupt: after the profile is
# written the CLI dies by SIGINT, as python itself does.
EXIT_KEYBOARD_INTERRUPT = -2


class Target:
    """What to run: kind is 'script', 'module' or 'code'."""

    def __init__(self, kind, value, args):
        self.kind, self.value, self.args = kind, value, list(args)

    @property
    def stem(self):
        """A short name for default output files."""
        if self.kind == "script":
            return os.path.splitext(os.path.basename(self.value))[0] or "script"
        if self.kind == "module":
            return self.value.rsplit(".", 1)[-1]
        return "code"

    def describe(self):
        return {"script": self.value, "module": f"-m {self.value}", "code": "-c ..."}[self.kind]

    def check(self):
        """Raises UsageError when the program cannot be found, before anything runs."""
        if self.kind == "script":
            if not os.path.exists(self.value):
                raise UsageError(f"cannot run {self.value!r}: no such file")
            if os.path.isdir(self.value) and not os.path.exists(os.path.join(self.value, "__main__.py")):
                raise UsageError(f"cannot run {self.value!r}: a directory without __main__.py")
            if not os.access(self.value, os.R_OK):
                raise UsageError(f"cannot run {self.value!r}: permission denied")
        elif self.kind == "module":
            saved = sys.path[0] if sys.path else None
            if sys.path:
                sys.path[0] = os.getcwd()
            try:
                spec = importlib.util.find_spec(self.value)
            except (ImportError, ValueError) as exc:
                raise UsageError(f"cannot run module {self.value!r}: {exc}") from None
            finally:
                if saved is not None:
                    sys.path[0] = saved
            if spec is None:
                raise UsageError(f"cannot run module {self.value!r}: no module named {self.value!r}")


def split_run_argv(argv, value_options):
    """Splits `run`'s arguments into (pyrometer options, Target).

    Options stop at the first token that is not an option: the script, or
    -m MODULE / -c CODE; everything after belongs to the program."""
    options = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            if i + 1 >= len(argv):
                raise UsageError("no program to run after '--'")
            return options, Target("script", argv[i + 1], argv[i + 2:])
        if token in ("-m", "-c"):
            if i + 1 >= len(argv):
                raise UsageError(f"argument {token}: expected a {'module name' if token == '-m' else 'code string'}")
            kind = "module" if token == "-m" else "code"
            return options, Target(kind, argv[i + 1], argv[i + 2:])
        if token.startswith("-m") and len(token) > 2 and not token.startswith("--"):
            return options, Target("module", token[2:], argv[i + 1:])
        if token.startswith("-c") and len(token) > 2 and not token.startswith("--"):
            return options, Target("code", token[2:], argv[i + 1:])
        if token.startswith("-") and token != "-":
            options.append(token)
            name = token.split("=", 1)[0]
            if "=" not in token and name in value_options:
                if i + 1 >= len(argv):
                    raise UsageError(f"argument {name}: expected a value")
                options.append(argv[i + 1])
                i += 1
            i += 1
            continue
        return options, Target("script", token, argv[i + 1:])
    return options, None


def _exit_code(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _print_program_traceback(exc):
    """The traceback as python prints it, starting at the program's own
    frames (those under _exec_main, or past runpy for directories)."""
    tb = exc.__traceback__
    walk = tb
    while walk is not None:
        if walk.tb_frame.f_code is ENTRY_CODE:
            tb = walk.tb_next
            break
        walk = walk.tb_next
    else:
        here = os.path.dirname(os.path.abspath(__file__))
        while tb is not None and (os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(here + os.sep)
                                  or tb.tb_frame.f_code.co_filename.startswith("<frozen runpy")):
            tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)


def _join_non_daemon_threads():
    """As the interpreter does before exiting: the program is not done
    until its non-daemon threads are."""
    main = threading.main_thread()
    while True:
        pending = [t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]
        if not pending:
            return
        for t in pending:
            t.join()


def _exec_main(run_program, *args):
    """The program's outermost frame runs inside this one; samplers stop
    their walk here (ENTRY_CODE) so pyrometer's own frames never show."""
    run_program(*args)


ENTRY_CODE = _exec_main.__code__


def _new_main_module(**attrs):
    main = types.ModuleType("__main__")
    main.__dict__.update(__builtins__=__builtins__, __cached__=None, **attrs)
    sys.modules["__main__"] = main
    return main


def _run_script(path):
    if os.path.isdir(path) or not os.path.isfile(path):
        # A directory or zip file with __main__.py: runpy knows those layouts.
        _exec_main(runpy.run_path, path, None, "__main__")
        return
    with open(path, "rb") as f:
        source = f.read()
    code = compile(source, path, "exec", dont_inherit=True)
    main = _new_main_module(__file__=path, __loader__=None, __spec__=None, __package__=None)
    _exec_main(exec, code, main.__dict__)


def _run_module(name):
    # Exactly what `python -m` runs, so tracebacks and stacks show the same
    # runpy frames python's own would.
    _new_main_module()
    _exec_main(runpy._run_module_as_main, name, True)


def run(target):
    """Runs the target in this process; returns its exit status."""
    saved_argv = sys.argv
    saved_path0 = sys.path[0] if sys.path else None
    saved_main = sys.modules.get("__main__")
    status = 0
    try:
        try:
            if target.kind == "script":
                sys.argv = [target.value, *target.args]
                sys.path[0] = os.path.dirname(os.path.abspath(target.value))
                _run_script(target.value)
            elif target.kind == "module":
                sys.argv = [target.value, *target.args]
                sys.path[0] = os.getcwd()
                _run_module(target.value)
            else:
                sys.argv = ["-c", *target.args]
                sys.path[0] = ""
                main = _new_main_module(__file__=None, __loader__=None, __spec__=None, __package__=None)
                del main.__dict__["__file__"]
                _exec_main(exec, compile(target.value, "<string>", "exec"), main.__dict__)
        except SystemExit as exc:
            status = _exit_code(exc)
        except KeyboardInterrupt as exc:
            _print_program_traceback(exc)
            return EXIT_KEYBOARD_INTERRUPT
        except BaseException as exc:  # noqa: BLE001 - the program's own uncaught exception
            _print_program_traceback(exc)
            status = 1
        _join_non_daemon_threads()
        return status
    finally:
        sys.argv = saved_argv
        if saved_path0 is not None and sys.path:
            sys.path[0] = saved_path0
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
