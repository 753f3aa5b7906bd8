"""The image detail panel: the face with its box and landmarks, and for AffectNetC25
images the crowd's votes (expression histogram, valence-arousal plane, per-image
statistics, who voted what).

:class:`DetailPanel` is the widget the window embeds; each plot is its own small widget
(``face_view``, ``vote_histogram``, ``va_plane``, ``crowd_stats``) fed with typed values
from :mod:`faceexplorer.reports.image_detail`. Plot items are created once and updated in
place, and the query plus the image decoding run on a worker thread (``loader``), so
stepping through images never rebuilds a scene nor blocks the window.
"""

from faceexplorer.gui.detail.panel import DetailPanel

__all__ = ["DetailPanel"]
