"""pyqtgraph, configured once for every view.

Import ``pg`` from here, never ``pyqtgraph`` directly: the options below must hold before
any plot item exists, whichever view happens to be built first. Images are row-major
(numpy's own order: arrays go to ``ImageItem`` without transposes) and lines are
antialiased. Importing this module is what loads pyqtgraph, so a view that never plots
never pays for it.
"""

from __future__ import annotations

import pyqtgraph as pg

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

__all__ = ["pg", "plain_axes"]


def plain_axes(plot: pg.PlotItem) -> pg.PlotItem:
    """Turn off the automatic SI prefix of ``plot``'s axes that have no units.

    pyqtgraph re-renders each labelled axis's HTML at every range change (~10 times per
    axis while a plot is first laid out: in the Crowd statistics tab's first visit, a third
    of making its plots). And without units it still rescales a labelled axis whose values
    all lie within 1 (ticks "350" and "(x0.001)" in its label for 0.35): values are shown
    as they are instead, as the HRM statistics plots already do.
    """
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        if not axis.labelUnits:
            axis.autoSIPrefix = False
    return plot
