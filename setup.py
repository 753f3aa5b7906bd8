"""Packages for setuptools; everything else is in pyproject.toml.

The top-level ``resources/`` folder (model cards, the selftest model) is installed inside
the package as ``faceexplorer/resources``: pyproject.toml alone cannot add a mapped
package to the ones it finds. ``faceexplorer.paths.resource_dir`` finds it in a wheel, an
editable install and the frozen app alike (tests/packaging/test_wheel.py).
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["faceexplorer", "faceexplorer.*"]),
              "faceexplorer.resources"],
    package_dir={"faceexplorer.resources": "resources"},
    package_data={"faceexplorer.resources": ["**/*"]},
)
