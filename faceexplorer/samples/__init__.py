"""Synthetic datasets written in exactly the real distributed layouts.

Used by ``faceexplorer demo``, by the tests and by ``bench/``. Every writer takes a
``numpy.random.Generator`` so a seed reproduces the same files. Layout under ``root``
(``scale="small"`` for the demo and tests, ``"full"`` for the real sizes):

``AffectNet/Manually_Annotated/training.csv``, ``validation.csv``
    The official header; 68 landmarks as one ``;`` string; dirty rows as in the real
    files (literal ``NULL``, ``face_width`` 0, valence/arousal ``-2``, codes 8..10).
    Images under ``Manually_Annotated/Manually_Annotated_Images/<subdir>/<name>.jpg``,
    drawn faces whose expression follows the label. small: 2,400 train + 300 val rows,
    all images; full: 414,800 + 5,500 rows, images only when asked.
``AffectNetC25/{expression,valence,arousal}_set{1,2}_C25.csv``
    CRLF, ``index,filename,participant0..24``; 800 images per set whose ``index`` and
    ``filename`` point at real rows of the sample ``training.csv`` (C25 code order).
``HRM/ASD/<child>.csv``, ``HRM/TD/<child>.csv``
    The 38-column label header, plus the 5 rater columns and their mean. Children
    S1..S66 are ASD and S67..S98 TD (full: 98 children, 131,758 frames, 1,535 segments;
    small: 6 children). Frames ``HRM/origin/<child>/<frame>_0.jpg`` and videos
    ``HRM/videos/<child>.mp4`` (small scale; optional at full scale).
``AffectNet-D/depth/<class>/<stem>.png`` (+ some 16-bit PNG and ``.npy``),
``AffectNet-D/normal/<class>/<stem>.png``
    Depth maps matched by stem to AffectNet basenames; full: the published per-class counts.
``RaFD/<Rafd...>.jpg`` and ``RaFD-D/depth/<class>/<stem>.png`` (+ ``normal/``)
    RaFD images named by the RaFD convention and their depth maps.
``FACES/features.csv``, ``FACES/dass21.csv``, ``FACES/baseinfo.csv``
    ``ID`` + 709 OpenFace columns x 12 statistics; DASS-21 items; demographics.
``OpenFace/comma/<child>.csv`` and ``OpenFace/comma_space/<child>.csv``
    OpenFace 2.x per-frame CSVs of HRM children, Linux (``,``) and Windows (``", "``) style.
"""
