"""Builds pyrometer._native from every .c file under src/pyrometer/_native.

PYROMETER_SANITIZE=address,undefined builds the extension with sanitizers
(the CI step that runs the whole suite under ASan+UBSan sets it)."""
import glob
import os
import sys

from setuptools import Extension, setup

NATIVE = os.path.join("src", "pyrometer", "_native")
sources = sorted(glob.glob(os.path.join(NATIVE, "**", "*.c"), recursive=True))

compile_args = ["-std=gnu11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Wno-missing-field-initializers",
                "-fno-strict-aliasing", "-O2", "-g"]
link_args = []
libraries = ["z", "unwind"]  # libunwind: native frames of allocations (--native)

sanitize = os.environ.get("PYROMETER_SANITIZE", "").strip()
if sanitize:
    compile_args += [f"-fsanitize={sanitize}", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined"
                     if "undefined" in sanitize else "-fno-omit-frame-pointer"]
    link_args += [f"-fsanitize={sanitize}"]

if os.environ.get("PYROMETER_WERROR"):
    compile_args.append("-Werror")

setup(
    ext_modules=[
        Extension(
            "pyrometer._native",
            sources=sources,
            include_dirs=[NATIVE],
            extra_compile_args=compile_args,
            extra_link_args=link_args,
            libraries=libraries,
        )
    ],
)
