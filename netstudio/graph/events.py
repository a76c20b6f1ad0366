"""Change events of a document (psygnal), so views follow the model without polling.

Every signal carries the definition name first, so a canvas showing one
definition can ignore the others.  ``changed`` fires once after each complete
edit (a group is one edit), ``reset`` when the whole project is replaced.
"""

from psygnal import Signal, SignalGroup


class DocumentEvents(SignalGroup):
    node_added = Signal(str, str)            # definition, node id
    node_removed = Signal(str, str)          # definition, node id
    node_changed = Signal(str, str, str)     # definition, node id, field: name/params/position/init/tie
    edge_added = Signal(str, str)            # definition, edge id
    edge_removed = Signal(str, str)          # definition, edge id
    edge_changed = Signal(str, str)          # definition, edge id: its bend points (a way of drawing)
    definition_added = Signal(str)
    definition_removed = Signal(str)
    definition_changed = Signal(str)         # kind or class name
    code_changed = Signal(str)               # class name
    settings_changed = Signal(str)           # seed, name, description, trusted, initializers, edits
    reset = Signal()
    changed = Signal()
