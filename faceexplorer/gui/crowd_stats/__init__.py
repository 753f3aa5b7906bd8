"""Set statistics view of the AffectNetC25 crowd votes (agreement, annotators, plots).

``CrowdStatsPanel`` is the widget: attach it to an index session with ``attach``. Its
parts: ``worker`` (background computation and per-set cache), ``tables`` (summary and
annotator ranking), ``plots`` (heatmaps and histogram with PNG export), ``panel``.
"""

from faceexplorer.gui.crowd_stats.panel import CrowdStatsPanel

__all__ = ["CrowdStatsPanel"]
