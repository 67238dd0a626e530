# Only what pyproject.toml cannot hold: cffi's build hook and the abi3 wheel tag.
from setuptools import setup

setup(
    cffi_modules=["native/ffi_build.py:ffibuilder"],
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
