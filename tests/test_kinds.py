"""Dataset kinds: one typed vocabulary and one adaptor per kind (issue 12 item 6)."""

from __future__ import annotations

import importlib

import pytest

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.kinds import DEPTH_KINDS, IMAGE_KINDS, DatasetKind
from faceexplorer.datasets.registry import ADAPTORS, IMPORTERS, adaptor, importer


def test_every_kind_has_one_adaptor_that_agrees_with_its_importer() -> None:
    assert list(ADAPTORS) == list(DatasetKind)
    assert list(IMPORTERS) == [str(k) for k in DatasetKind]
    for kind, a in ADAPTORS.items():
        module = a.importer
        assert module.KIND == kind == str(kind)        # the importer names itself alike
        assert a.title == module.TITLE and a.tables == module.TABLES and a.tables
        assert importer(kind) is module
        if a.queries_module is not None:
            importlib.import_module(a.queries_module)


def test_members_are_their_names() -> None:
    assert DatasetKind.AFFECTNET_C25 == "affectnet-c25"
    assert {"affectnet-d", "rafd-d"} == set(DEPTH_KINDS)
    assert DatasetKind("hrm") is DatasetKind.HRM
    assert IMAGE_KINDS == {"affectnet", "affectnet-c25"}


def test_an_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(FaceExplorerError, match="known kinds: affectnet, affectnet-c25"):
        adaptor("affectnet-x")
