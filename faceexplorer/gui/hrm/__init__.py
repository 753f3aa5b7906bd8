"""Hugging Rain Man views: the children/segment navigator and the AU timeline.

Each widget is standalone: it follows the window's index session (``attach(session)``), reads
it only through ``faceexplorer.index.hrm_query`` and talks to its neighbours by signals
(``child_selected``, ``segment_selected``, ``cursor_moved``) and slots (``load_child``,
``zoom_to``, ``set_cursor``), so the main window wires them without knowing their insides.
Nothing is imported here, so loading one view never pulls in the others.
"""
