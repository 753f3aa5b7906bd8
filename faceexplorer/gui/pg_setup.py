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

__all__ = ["pg"]
