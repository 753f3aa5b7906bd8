"""The dataset kinds FaceExplorer knows, as one typed vocabulary.

``DatasetKind`` is a ``StrEnum``: a member is its kind name (``DatasetKind.HRM ==
"hrm"``), so it goes into SQL, JSON, settings and command lines as it is, while code
names kinds by member instead of repeating string literals. Each kind's adaptor (its
title, tables, importer and queries) is in :mod:`faceexplorer.datasets.registry`; this
module sits in ``core`` so that every layer can name a kind.
"""

from __future__ import annotations

from enum import StrEnum


class DatasetKind(StrEnum):
    """A dataset kind, in the order ``index info`` and the window list them."""

    AFFECTNET = "affectnet"
    AFFECTNET_C25 = "affectnet-c25"
    HRM = "hrm"
    AFFECTNET_D = "affectnet-d"
    RAFD_D = "rafd-d"
    FACES = "faces"
    OPENFACE = "openface"


#: the image datasets the AffectNet tab browses together
IMAGE_KINDS = frozenset({DatasetKind.AFFECTNET, DatasetKind.AFFECTNET_C25})
#: the depth datasets of the Depth tab
DEPTH_KINDS = frozenset({DatasetKind.AFFECTNET_D, DatasetKind.RAFD_D})
