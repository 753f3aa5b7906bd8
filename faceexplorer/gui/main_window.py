"""The FaceExplorer main window: datasets on the left, the views of the index on the right.

The views are tabs, each shown only when its data is in the index: AffectNet (images
with their crowd votes), Crowd statistics (per C25 set), HRM timelines and statistics,
Depth, FACES / DASS-21, Model runs, Live models and Records (a paged table of any
dataset's tables). Selecting a dataset opens the view made for it. A view is built the
first time its tab is shown (:mod:`faceexplorer.gui.lazy_tab`), so start-up pays only
for the tab on screen; ``window.hrm_view`` and the like build theirs on access, and
:meth:`MainWindow.show_view` brings a view's tab up.

The window owns the index through one :class:`~faceexplorer.gui.core.session.IndexSession`
and does its background work on one :class:`~faceexplorer.gui.core.tasks.TaskRunner`;
every view is attached to the session and updates from its signals. The session reads
the index read-only, so other processes may read it too, and turns read-write only while
a write of the window runs: File > Add dataset (an import), a model run, a live
recording (:mod:`~faceexplorer.gui.window_writes`, a mixin of the window). The window
stays usable meanwhile. A command-line import while the window is
open is refused with the reason (add it from File > Add dataset instead); while one runs
the window cannot open the index and says so, with a Retry button, rather than failing.

Three states share the window, one at a time: browsing, an empty index (with the
commands that fill it), and an index that cannot be opened (with the reason).

The window's layout (geometry, the dataset list's splitter, the current tab) is kept in
:class:`~faceexplorer.gui.core.settings.Settings` when it closes and restored when it
opens; View > Reset layout forgets it (:mod:`~faceexplorer.gui.window_layout`, a mixin
of the window).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTabWidget,
    QWidget,
)

from faceexplorer.core.errors import FaceExplorerError, IndexBusyError
from faceexplorer.core.kinds import DEPTH_KINDS, IMAGE_KINDS, DatasetKind
from faceexplorer.datasets.overview import DatasetOverview, datasets_overview
from faceexplorer.gui.core import settings as keys
from faceexplorer.gui.core.session import (
    DatasetChange,
    IndexSession,
    SessionState,
    WriteHandle,
)
from faceexplorer.gui.core.settings import Settings
from faceexplorer.gui.core.state import AppState
from faceexplorer.gui.core.tasks import TaskRunner
from faceexplorer.gui.dataset_panel import DatasetPanel
from faceexplorer.gui.idle_build import IdleBuilder
from faceexplorer.gui.lazy_tab import LazyTab, LazyView
from faceexplorer.gui.message_page import MessagePage, how_to_fill
from faceexplorer.gui.table_panel import TablePanel
from faceexplorer.gui.window_layout import WindowLayout
from faceexplorer.gui.window_writes import WindowWrites, create_index_job

if TYPE_CHECKING:
    from faceexplorer.gui.analyses.view import AnalysesView
    from faceexplorer.gui.crowd_stats.panel import CrowdStatsPanel
    from faceexplorer.gui.depth.view import DepthView
    from faceexplorer.gui.faces_explorer.view import FacesExplorerView
    from faceexplorer.gui.faces_view import FacesView
    from faceexplorer.gui.hrm.stats_view import HRMStatsView
    from faceexplorer.gui.hrm.view import HRMView
    from faceexplorer.gui.live.view import LiveView
    from faceexplorer.gui.models.view import ModelsView


class MainWindow(WindowLayout, WindowWrites, QMainWindow):
    """Browse the index at ``db_path``, and write it from the window.

    Parameters
    ----------
    db_path
        The index file; it may be missing, locked or invalid: the window then shows why.
    """

    def __init__(self, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        #: the window's one runner of background work, and its one owner of the index
        self.tasks = TaskRunner(parent=self)
        self.session = IndexSession(self.db_path, self.tasks, self)
        self.session.opened.connect(self._index_opened)
        self.session.changed.connect(self._index_written)
        self.session.state_changed.connect(self._session_state)
        self.session.write_started.connect(self._write_started)
        self.session.write_ended.connect(self._write_ended)
        self.datasets: list[DatasetOverview] = []
        self.setWindowTitle(f"FaceExplorer — {self.db_path.name}")
        self.settings = Settings(parent=self)
        #: what the user looks at (filters, mode, HRM child, ...), remembered per index
        self.app_state = AppState(self.settings, self.db_path, self)
        self._restoring = True     # build no tab until the remembered one is chosen
        self._use_default_geometry()

        self.dataset_panel = DatasetPanel(self)
        self.table_panel = TablePanel(self)
        self.table_panel.attach(self.session)
        #: the child last chosen in the HRM navigator: the HRM statistics' scope
        self._tabs_settling = False
        self.views = QTabWidget(self)
        self.views.setObjectName("views")
        self.views.setDocumentMode(True)
        # Every view but Records is built when its tab is first shown (see lazy_tab).
        self._pages: dict[str, LazyTab] = {
            name: LazyTab(factory, self.views) for name, factory in (
                ("faces_view", self._make_faces_view),
                ("crowd_panel", self._make_crowd_panel),
                ("hrm_view", self._make_hrm_view),
                ("hrm_stats", self._make_hrm_stats),
                ("depth_view", self._make_depth_view),
                ("faces_explorer", self._make_faces_explorer),
                ("models_view", self._make_models_view),
                ("live_view", self._make_live_view),
                ("analyses_view", self._make_analyses_view))}
        pages = self._pages
        #: tab page -> (title, dataset kinds any of which make it worth showing)
        self._tabs: dict[QWidget, tuple[str, frozenset[str]]] = {
            pages["faces_view"]: ("AffectNet", IMAGE_KINDS),
            pages["crowd_panel"]: ("Crowd statistics", frozenset({DatasetKind.AFFECTNET_C25})),
            pages["hrm_view"]: ("HRM timelines", frozenset({DatasetKind.HRM})),
            pages["hrm_stats"]: ("HRM statistics", frozenset({DatasetKind.HRM})),
            pages["depth_view"]: ("Depth", DEPTH_KINDS),
            pages["faces_explorer"]: ("FACES / DASS-21", frozenset({DatasetKind.FACES})),
            pages["models_view"]: ("Model runs", frozenset()),
            pages["live_view"]: ("Live models", frozenset()),
            pages["analyses_view"]: ("Analyses", frozenset()),
            self.table_panel: ("Records", frozenset()),
        }
        for widget, (title, _kinds) in self._tabs.items():
            self.views.addTab(widget, title)
        self.views.currentChanged.connect(self._build_current)
        self.views.currentChanged.connect(self._follow_tab)
        #: builds the Crowd statistics tab ahead while the window is idle (issue 18)
        self.idle_builds = IdleBuilder(self.tasks, self)
        self.dataset_panel.dataset_selected.connect(self.table_panel.show_dataset)
        self.dataset_panel.dataset_selected.connect(self._open_view_for)
        self.table_panel.message.connect(self._status)
        self.browse_page = QSplitter(Qt.Orientation.Horizontal, self)
        self.browse_page.setObjectName("browsePage")
        self.browse_page.addWidget(self.dataset_panel)
        self.browse_page.addWidget(self.views)
        self.browse_page.setStretchFactor(0, 0)
        self.browse_page.setStretchFactor(1, 1)
        self.browse_page.setSizes(list(self.BROWSE_SIZES))
        self.dataset_panel.setMinimumWidth(230)
        self.browse_page.setChildrenCollapsible(False)
        self.browse_page.setContentsMargins(6, 4, 6, 0)

        self.empty_page = MessagePage(
            "emptyState", QStyle.StandardPixmap.SP_FileDialogNewFolder, "Add dataset…", self)
        self.error_page = MessagePage(
            "errorState", QStyle.StandardPixmap.SP_MessageBoxWarning, "Retry", self)
        self.empty_page.button.clicked.connect(self.add_dataset)
        # Live models and Analyses need no dataset: reachable from an empty index too.
        self.empty_page.add_button("Live models", "emptyLive").clicked.connect(
            lambda: self.browse_without_data("live_view"))
        self.empty_page.add_button("Analyse a video…", "emptyAnalyses").clicked.connect(
            lambda: self.browse_without_data("analyses_view"))
        self.error_page.button.clicked.connect(self.reload)
        self.stack = QStackedWidget(self)
        for w in (self.browse_page, self.empty_page, self.error_page):
            self.stack.addWidget(w)
        self.setCentralWidget(self.stack)

        self.path_label = QLabel(self)
        self.path_label.setObjectName("indexPath")
        # an import in progress: a busy bar and its Cancel (the index then stays as it was)
        self.import_progress = QProgressBar(self)
        self.import_progress.setRange(0, 0)
        self.import_progress.setMaximumWidth(140)
        self.import_progress.setFormat("importing…")
        self.cancel_import_button = QPushButton("Cancel import", self)
        self.cancel_import_button.setObjectName("cancelImport")
        self.cancel_import_button.clicked.connect(self.cancel_import)
        for w in (self.import_progress, self.cancel_import_button):
            self.statusBar().addPermanentWidget(w)
            w.hide()
        self._import_write: WriteHandle | None = None
        # a finished job's result, one click away (shown for RESULT_MS)
        self.result_link = QLabel(self)
        self.result_link.setObjectName("resultLink")
        self.result_link.setTextFormat(Qt.TextFormat.RichText)
        self.result_link.linkActivated.connect(self.open_result)
        self._result_timer = QTimer(self)
        self._result_timer.setSingleShot(True)
        self._result_timer.timeout.connect(self.result_link.hide)
        self.statusBar().addPermanentWidget(self.result_link)
        self.result_link.hide()
        self.statusBar().addPermanentWidget(self.path_label)
        self._make_menu()
        self.reload()
        self._restore_layout()

    # --- views, built on first use ----------------------------------------------------
    faces_view: FacesView = LazyView()  # type: ignore[assignment]
    crowd_panel: CrowdStatsPanel = LazyView()  # type: ignore[assignment]
    hrm_view: HRMView = LazyView()  # type: ignore[assignment]
    hrm_stats: HRMStatsView = LazyView()  # type: ignore[assignment]
    depth_view: DepthView = LazyView()  # type: ignore[assignment]
    faces_explorer: FacesExplorerView = LazyView()  # type: ignore[assignment]
    models_view: ModelsView = LazyView()  # type: ignore[assignment]
    live_view: LiveView = LazyView()  # type: ignore[assignment]
    analyses_view: AnalysesView = LazyView()  # type: ignore[assignment]

    def show_view(self, view: QWidget) -> None:
        """Make the tab holding ``view`` current (a view sits inside its LazyTab page)."""
        page = view
        while page is not None and self.views.indexOf(page) < 0:
            page = page.parentWidget()
        if page is None:
            raise ValueError(f"{type(view).__name__} is not a view of this window")
        self.views.setCurrentWidget(page)

    def _status(self, text: str) -> None:
        self.statusBar().showMessage(text, 10000)

    def _connected(self, view: QWidget) -> QWidget:
        """A new view follows the window's index session and app state."""
        view.app_state = self.app_state  # type: ignore[attr-defined]
        view.attach(self.session)  # type: ignore[attr-defined]
        return view

    def _make_faces_view(self, parent: QWidget) -> QWidget:
        from faceexplorer.gui.faces_view import FacesView

        view = FacesView(parent)
        view.browser.message.connect(self._status)
        return self._connected(view)

    def _make_crowd_panel(self, parent: QWidget) -> QWidget:
        from faceexplorer.gui.crowd_stats.panel import CrowdStatsPanel

        view = CrowdStatsPanel(parent)
        view.message.connect(self._status)
        return self._connected(view)

    def _make_hrm_view(self, parent: QWidget) -> QWidget:
        from faceexplorer.gui.hrm.view import HRMView

        view = HRMView(parent)
        # the statistics follow the child chosen in the timelines' navigator
        view.navigator.child_selected.connect(self._hrm_child_selected)
        return self._connected(view)

    def _hrm_child_selected(self, child: str) -> None:
        self.app_state.set("hrm_child", child)
        stats = self._pages["hrm_stats"].built_view()
        if stats is not None:
            stats.show_scope(child)  # type: ignore[attr-defined]

    def _make_hrm_stats(self, parent: QWidget) -> QWidget:
        from faceexplorer.gui.hrm.stats_view import HRMStatsView

        view = HRMStatsView(parent)
        view.message.connect(self._status)
        self._connected(view)
        if self.app_state.get("hrm_child") is not None and self.session.is_open:
            view.show_scope(self.app_state.get("hrm_child"))
        return view

    def _make_depth_view(self, parent: QWidget) -> QWidget:
        from faceexplorer.gui.depth.view import DepthView

        return self._connected(DepthView(parent))

    def _make_faces_explorer(self, parent: QWidget) -> QWidget:
        from faceexplorer.gui.faces_explorer.view import FacesExplorerView

        view = FacesExplorerView(parent)
        view.message.connect(self._status)
        view.store_ranks_requested.connect(self._store_faces_ranks)
        return self._connected(view)

    def _make_models_view(self, parent: QWidget) -> QWidget:
        from faceexplorer.gui.models.view import ModelsView

        view = ModelsView(parent)
        view.run_finished.connect(lambda result: self.announce_result(
            f"Model run {result.status}", "view:models_view"))
        return self._connected(view)

    def _make_analyses_view(self, parent: QWidget) -> QWidget:
        from faceexplorer.gui.analyses.view import AnalysesView

        view = AnalysesView(parent)
        view.analysis_finished.connect(self._analysis_finished)
        return self._connected(view)

    def _make_live_view(self, parent: QWidget) -> QWidget:
        from faceexplorer.gui.live.view import LiveView

        view = LiveView(parent)
        view.recording_finished.connect(self._store_recording)
        view.failed.connect(lambda text: self.statusBar().showMessage(text, 15000))
        # a source that starts makes an earlier failure's message stale
        view.started.connect(self.statusBar().clearMessage)
        return view

    def _build_current(self, _index: int = -1) -> None:
        page = self.views.currentWidget()
        if self._restoring or self._tabs_settling \
                or self.stack.currentWidget() is not self.browse_page:
            return
        if page is not None:
            self.settings.set(keys.CURRENT_TAB, self._tabs[page][0])
        if isinstance(page, LazyTab):
            page.view()

    def _build_ahead(self) -> None:
        """Build the Crowd statistics tab while the window is idle (see idle_build)."""
        page = self._pages["crowd_panel"]
        index = self.views.indexOf(page)
        if self.views.isTabVisible(index) and not page.built:
            self.idle_builds.schedule(page, "faceexplorer.gui.crowd_stats.panel",
                                      lambda: self.views.isTabVisible(index))

    # --- states -----------------------------------------------------------------------
    def reload(self) -> None:
        """(Re)open the index and show the state it is in; keeps the selected dataset."""
        state = self.session.open()
        if state is SessionState.READ_ONLY:
            return                         # _index_opened showed it
        if self.session.writing:
            return                         # a write of the window reopens it itself
        self._show_error_state()

    def _index_opened(self) -> None:
        self._show_datasets()

    def _index_written(self, change: DatasetChange) -> None:
        # on a turn of the event loop of its own, like the views' reloads
        select = next(iter(change.kinds)) if change.what == "imported" else None
        QTimer.singleShot(0, self, lambda: self._show_datasets(select=select,
                                                                announce=False))

    def _session_state(self, state: SessionState) -> None:
        mode = {SessionState.READ_ONLY: "read-only", SessionState.WRITABLE: "writing"}
        if state in mode:
            self.path_label.setText(f"Index: {self.db_path}  ({mode[state]})")
        elif state is not SessionState.CLOSED:
            self._show_error_state()

    def _show_datasets(self, select: str | None = None, announce: bool = True) -> None:
        """List the datasets of the open index and show the tabs they need."""
        keep = self.dataset_panel.current()
        con = self.session.connection
        if con is None:
            return
        try:
            self.datasets = datasets_overview(con)
        except (FaceExplorerError, duckdb.Error) as exc:
            self._show_error(exc)
            return
        if not self.datasets:
            if self._no_data_tabs:          # the user is in Live models or Analyses
                self.dataset_panel.set_datasets([])
                return
            self._show_empty()
            return
        self._no_data_tabs = False
        kinds = {d.kind for d in self.datasets}
        # Hiding the current tab makes the next one current for a moment: build nothing
        # until every tab has its visibility.
        self._tabs_settling = True
        for widget, (_title, needs) in self._tabs.items():
            self.views.setTabVisible(self.views.indexOf(widget), not needs or bool(needs & kinds))
        self._tabs_settling = False
        self.stack.setCurrentWidget(self.browse_page)
        # Refilling the list after a write must not move the user to another tab: only
        # the first dataset shown (opening, or the first import) opens its view.
        quiet = self._browsing
        self._browsing = True
        if quiet:
            self.dataset_panel.dataset_selected.disconnect(self._open_view_for)
        try:
            self.dataset_panel.set_datasets(self.datasets)
            if select is not None and select in kinds:
                self.dataset_panel.select(select)
            elif keep is not None:
                self.dataset_panel.select(keep.kind)
        finally:
            if quiet:
                self.dataset_panel.dataset_selected.connect(self._open_view_for)
        self._build_current()
        self._build_ahead()
        n = len(self.datasets)
        if announce:        # after a write, the status bar keeps the write's result
            self.statusBar().showMessage(f"{n} dataset{'s' if n != 1 else ''} in the index",
                                         5000)

    def _show_error_state(self) -> None:
        state = self.session.state
        if state is SessionState.MISSING:   # the first import creates it
            self._show_empty("No index here yet")
            self.path_label.setText(f"Index: {self.db_path}  (not open)")
        else:
            exc: Exception = (IndexBusyError(self.session.error) if state is SessionState.BUSY
                              else FaceExplorerError(self.session.error))
            self._show_error(exc)

    @property
    def state(self) -> str:
        """Which page is shown: ``"browse"``, ``"empty"`` or ``"error"``."""
        return {self.browse_page: "browse", self.empty_page: "empty",
                self.error_page: "error"}[self.stack.currentWidget()]

    #: the browse page shows datasets (a refill then keeps the user's tab)
    _browsing = False
    #: the browse page shows only the tabs that need no dataset (an empty index)
    _no_data_tabs = False

    def browse_without_data(self, page: str) -> None:
        """Show the tabs that need no dataset (an empty or missing index), ``page`` first.

        A missing index is created (empty) so that what the tab writes has a home."""
        self._no_data_tabs = True
        if not self.session.is_open:
            self.session.write(create_index_job, name="Creating the index",
                               on_done=lambda _none: self.browse_without_data(page))
            return
        self._tabs_settling = True
        for widget, (_title, needs) in self._tabs.items():
            self.views.setTabVisible(self.views.indexOf(widget), not needs)
        self._tabs_settling = False
        self.dataset_panel.set_datasets([])
        self.stack.setCurrentWidget(self.browse_page)
        self.views.setCurrentWidget(self._pages[page])
        self._build_current()

    def _show_empty(self, title: str = "This index has no datasets yet") -> None:
        self._browsing = False
        self.empty_page.show_message(title, how_to_fill(self.db_path, "Add dataset…"))
        self.stack.setCurrentWidget(self.empty_page)

    def _show_error(self, exc: BaseException) -> None:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        # The path is shown on its own line below; keep the message to the problem.
        text = text.removeprefix(f"{self.db_path}: ").removeprefix("cannot open the index: ")
        text = text[:1].upper() + text[1:]
        path = escape(str(self.db_path))
        if isinstance(exc, IndexBusyError):
            title = "The index is in use"
            body = (f"<p>{escape(text)}</p><p>Another FaceExplorer process (probably an "
                    "import) is writing it. Wait for it to finish, then press Retry.</p>"
                    f"<p style='color:gray'>Index: {path}</p>")
        elif not self.db_path.exists():
            title = "No index here yet"
            body = how_to_fill(self.db_path, "Retry")
        else:
            title = "Cannot open the index"
            body = (f"<p>{escape(text)}</p><p>This file is not a FaceExplorer index (a DuckDB "
                    "database), or it is damaged. Choose another file with <code>--db</code>, "
                    "or rebuild it by importing the datasets again.</p>"
                    f"<p style='color:gray'>Index: {path}</p>")
        self._browsing = False
        self.error_page.show_message(title, body)
        self.stack.setCurrentWidget(self.error_page)
        self.path_label.setText(f"Index: {self.db_path}  (not open)")

    # --- plumbing ---------------------------------------------------------------------
    def _make_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self.add_dataset_action = QAction("&Add dataset…", self)
        self.add_dataset_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Open))
        self.add_dataset_action.setToolTip("Import a dataset folder into the index")
        self.add_dataset_action.triggered.connect(self.add_dataset)
        menu.addAction(self.add_dataset_action)
        self.remove_dataset_action = QAction("&Remove dataset…", self)
        self.remove_dataset_action.setToolTip("Remove a dataset from the index (its files "
                                              "stay where they are)")
        self.remove_dataset_action.triggered.connect(self.ask_remove_dataset)
        menu.addAction(self.remove_dataset_action)
        reload_action = QAction("&Reload index", self)
        reload_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        reload_action.triggered.connect(self.reload)
        quit_action = QAction("&Quit", self)
        quit_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Quit)
        # some platforms (Windows, some Linux desktops) define no Quit key: Ctrl+Q there
        quit_action.setShortcuts(quit_keys or [QKeySequence("Ctrl+Q")])
        quit_action.triggered.connect(self.close)
        menu.addAction(reload_action)
        menu.addSeparator()
        menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        self.reset_layout_action = QAction("Reset &layout", self)
        self.reset_layout_action.setToolTip(
            "Forget the remembered window size, panel widths and tab")
        self.reset_layout_action.triggered.connect(self.reset_layout)
        view_menu.addAction(self.reset_layout_action)
        from faceexplorer.gui.help import install_help_menu
        from faceexplorer.gui.preferences import install_preferences

        install_preferences(self)   # Edit > Preferences, applied to the views (issue 14)
        install_help_menu(self)     # Help: user guide, keyboard shortcuts, About (issue 14)

    def _follow_tab(self, _index: int = -1) -> None:
        """The dataset list follows the tab: a view made for other datasets than the
        selected one selects the first of them (quietly: the tab stays)."""
        page = self.views.currentWidget()
        needs = self._tabs.get(page, ("", frozenset()))[1] if page is not None else ()
        current = self.dataset_panel.current()
        if self._tabs_settling or not needs or current is None or current.kind in needs:
            return
        kind = next((d.kind for d in self.datasets if d.kind in needs), None)
        if kind is None:
            return
        self.dataset_panel.dataset_selected.disconnect(self._open_view_for)
        try:
            self.dataset_panel.select(kind)
        finally:
            self.dataset_panel.dataset_selected.connect(self._open_view_for)

    def _open_view_for(self, overview: DatasetOverview) -> None:
        """Show the view made for the selected dataset (its records for the others)."""
        for widget, (_title, needs) in self._tabs.items():
            if overview.kind in needs:
                self.views.setCurrentWidget(widget)
                return
        self.views.setCurrentWidget(self.table_panel)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self._save_layout()
        # Release the file lock at once so an import can start right after closing.
        built = {name: page.built_view() for name, page in self._pages.items()}
        if built["models_view"] is not None:
            built["models_view"].stop_and_wait()  # type: ignore[attr-defined]
        if built["faces_view"] is not None:
            built["faces_view"].close_workers()  # type: ignore[attr-defined]
        if built["live_view"] is not None:
            built["live_view"].stop()  # type: ignore[attr-defined]
        if built["analyses_view"] is not None:
            built["analyses_view"].close_workers()  # type: ignore[attr-defined]
        self.session.close()
        self.tasks.shutdown()
        super().closeEvent(event)
