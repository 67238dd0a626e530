"""cffi builder for scrub._scrub_cffi (out-of-line API mode).

The cdef is the marked region of scrub_native.h, so the binding and the C prototypes are one
text.  Paths are relative to the project root (setuptools runs builders from there).
"""

import pathlib

from cffi import FFI

HERE = pathlib.Path(__file__).parent
HEADER = (HERE / "scrub_native.h").read_text()
CDEF = HEADER.split("/* cdef-begin */", 1)[1].split("/* cdef-end */", 1)[0]

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "scrub._scrub_cffi",
    '#include "scrub_native.h"',
    sources=["native/scrub_native.c"],
    include_dirs=["native"],
    extra_compile_args=["-O3", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    extra_link_args=["-pthread"],
    # Images often lack gcc: without a compiler the install still succeeds and scrub runs
    # on its pure-Python engine (CI sets SCRUB_REQUIRE_NATIVE=1 so that never goes unseen).
    optional=True,
)

if __name__ == "__main__":  # pragma: no cover - setuptools drives the build
    ffibuilder.compile(verbose=True)
