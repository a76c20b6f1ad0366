"""The code block editor: a code block's class name and source with Python
highlighting, line numbers and live syntax checking, plus its constructor
arguments as JSON.

Apply pushes one undo step (a class rename, SetCode and SetParam in a macro);
nothing runs here, the source is only parsed.  A new class name renames the
class everywhere (``netstudio.graph.code_classes``); the editor follows a
rename made elsewhere (the properties panel, undo) at once.
"""

from __future__ import annotations

import json
import keyword
import re

from PySide6.QtCore import QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPainter, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QPlainTextEdit,
                               QVBoxLayout, QWidget)

from netstudio.catalog.code_block import CodeSyntaxError, find_class, forward_ports
from netstudio.graph.code_classes import class_name_problem, rename_class_statement
from ui.document.commands import RenameCodeClass
from ui.document.commands import SetCode, SetParam
from ui.document.relay import listen

ERROR_COLOR = "#d92d20"
OK_COLOR = "#2f8f5b"
MUTED = "#6b7384"


def _format(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontItalic(italic)
    return fmt


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, builtins, strings (triple-quoted ones across lines), comments, numbers, decorators."""

    STYLES = {
        "keyword": _format("#8839ef", bold=True),
        "builtin": _format("#1e66f5"),
        "self": _format("#d20f39", italic=True),
        "string": _format("#40a02b"),
        "comment": _format("#8c8fa1", italic=True),
        "number": _format("#fe640b"),
        "decorator": _format("#df8e1d"),
        "defname": _format("#1e66f5", bold=True),
    }
    BUILTINS = ("print", "len", "range", "super", "isinstance", "int", "float", "str", "list", "dict", "tuple",
                "min", "max", "abs", "sum", "zip", "enumerate", "torch", "nn", "F")
    _TRIPLE = (re.compile(r'"""'), re.compile(r"'''"))

    def __init__(self, document):
        super().__init__(document)
        words = "|".join(keyword.kwlist)
        self.rules = [
            (re.compile(rf"\b(?:{words})\b"), "keyword"),
            (re.compile(rf"\b(?:{'|'.join(self.BUILTINS)})\b"), "builtin"),
            (re.compile(r"\bself\b"), "self"),
            (re.compile(r"\b(?:0[xob][0-9a-fA-F_]+|\d[\d_]*\.?\d*(?:[eE][-+]?\d+)?)\b"), "number"),
            (re.compile(r"^\s*@[\w.]+"), "decorator"),
            (re.compile(r"\b(?:def|class)\s+(\w+)"), "defname"),
            (re.compile(r"[rbfu]{0,2}\"[^\"\\\n]*(?:\\.[^\"\\\n]*)*\"|[rbfu]{0,2}'[^'\\\n]*(?:\\.[^'\\\n]*)*'"),
             "string"),
            (re.compile(r"#[^\n]*"), "comment"),
        ]

    def highlightBlock(self, text: str) -> None:
        for pattern, style in self.rules:
            for m in pattern.finditer(text):
                start, end = (m.start(1), m.end(1)) if style == "defname" else (m.start(), m.end())
                if style == "comment" and self._in_string(text, m.start()):
                    continue
                self.setFormat(start, end - start, self.STYLES[style])
        self._triple_quotes(text)

    @staticmethod
    def _in_string(text: str, pos: int) -> bool:
        before = text[:pos]
        return before.count('"') % 2 == 1 or before.count("'") % 2 == 1

    def _triple_quotes(self, text: str) -> None:
        """Multi-line strings: block state 1 or 2 means "inside a \"\"\" or ''' string"."""
        self.setCurrentBlockState(0)
        start, state = 0, self.previousBlockState()
        if state in (1, 2):
            delim = self._TRIPLE[state - 1]
            m = delim.search(text)
            end = m.end() if m else len(text)
            self.setFormat(0, end, self.STYLES["string"])
            if m is None:
                self.setCurrentBlockState(state)
                return
            start = end
        while True:
            found = [(m.start(), i, m) for i, d in enumerate(self._TRIPLE) if (m := d.search(text, start))]
            if not found:
                return
            pos, i, m = min(found, key=lambda f: f[0])
            close = self._TRIPLE[i].search(text, m.end())
            if close is None:
                self.setFormat(pos, len(text) - pos, self.STYLES["string"])
                self.setCurrentBlockState(i + 1)
                return
            self.setFormat(pos, close.end() - pos, self.STYLES["string"])
            start = close.end()


class _LineNumbers(QWidget):
    def __init__(self, editor: "CodeEdit"):
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event) -> None:
        self.editor.paint_gutter(event)


class CodeEdit(QPlainTextEdit):
    """A monospace editor with line numbers; Tab indents by 4 spaces, Enter keeps the indent."""

    def __init__(self, parent=None):
        super().__init__(parent)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(font.pointSizeF(), 10.0))
        self.setFont(font)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 4)
        self.error_line: int | None = None
        self._gutter = _LineNumbers(self)
        self.blockCountChanged.connect(lambda _: self._update_margins())
        self.updateRequest.connect(self._scroll_gutter)
        self._update_margins()
        self.highlighter = PythonHighlighter(self.document())

    def gutter_width(self) -> int:
        digits = max(2, len(str(self.blockCount())))
        return 14 + self.fontMetrics().horizontalAdvance("9") * digits

    def _update_margins(self) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _scroll_gutter(self, rect, dy) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        cr = self.contentsRect()
        self._gutter.setGeometry(QRect(cr.left(), cr.top(), self.gutter_width(), cr.height()))

    def paint_gutter(self, event) -> None:
        painter = QPainter(self._gutter)
        painter.fillRect(event.rect(), QColor("#f4f5f7"))
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            number = block.blockNumber() + 1
            if block.isVisible():
                err = number == self.error_line
                painter.setPen(QColor(ERROR_COLOR if err else "#9aa1ae"))
                font = painter.font()
                font.setBold(err)
                painter.setFont(font)
                painter.drawText(0, top, self._gutter.width() - 6, height, Qt.AlignmentFlag.AlignRight, str(number))
            block = block.next()
            top += round(self.blockBoundingRect(block).height()) if block.isValid() else height
        painter.end()

    def set_error_line(self, line: int | None) -> None:
        if line != self.error_line:
            self.error_line = line
            self._gutter.update()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Tab and not event.modifiers():
            self.insertPlainText("    ")
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            line = self.textCursor().block().text()
            indent = line[: len(line) - len(line.lstrip())]
            if line.rstrip().endswith(":"):
                indent += "    "
            super().keyPressEvent(event)
            self.insertPlainText(indent)
            return
        super().keyPressEvent(event)


class CodeEditorDialog(QDialog):
    """Edit one code block: its class's source (shared by every node using the class)
    and this node's constructor arguments."""

    def __init__(self, controller, definition: str, node_id: str, parent=None):
        super().__init__(parent)
        self.controller, self.definition, self.node_id = controller, definition, node_id
        doc = controller.document
        node = doc.node(definition, node_id)
        self.class_name = node.params.get("class_name", "")
        self._loaded_source = doc.project.code.get(self.class_name, "")
        self._loaded_args = node.params.get("args", {})
        self.resize(720, 560)

        layout = QVBoxLayout(self)
        self.header = QLabel()
        self.header.setObjectName("codeHeader")
        layout.addWidget(self.header)
        name_form = QFormLayout()
        self.name_edit = QLineEdit(self.class_name)
        self.name_edit.setObjectName("classNameEdit")
        self.name_edit.setToolTip("The class's name; a new name renames it in the code and in every block using it.")
        name_form.addRow("Class name", self.name_edit)
        layout.addLayout(name_form)
        self.name_label = QLabel()
        self.name_label.setObjectName("classNameProblem")
        self.name_label.setWordWrap(True)
        self.name_label.setStyleSheet(f"color: {ERROR_COLOR};")
        self.name_label.hide()
        layout.addWidget(self.name_label)
        self._show_class_name()
        self.trust_label = QLabel("This project is not trusted: code blocks are checked but not run until you "
                                  "trust it.")
        self.trust_label.setWordWrap(True)
        self.trust_label.setStyleSheet("QLabel { background: #fff4e5; color: #8a5300; border-radius: 4px;"
                                       " padding: 6px; }")
        self.trust_label.setVisible(not doc.project.trusted)
        layout.addWidget(self.trust_label)

        self.editor = CodeEdit(self)
        self.editor.setPlainText(self._loaded_source)
        layout.addWidget(self.editor, 1)
        self.syntax_label = QLabel()
        self.syntax_label.setWordWrap(True)
        layout.addWidget(self.syntax_label)

        form = QFormLayout()
        self.args_edit = QLineEdit(json.dumps(self._loaded_args))
        self.args_edit.setFont(self.editor.font())
        self.args_edit.setPlaceholderText('{"in_features": 64}')
        self.args_edit.setToolTip("Keyword arguments for the constructor, as a JSON object")
        form.addRow("Constructor arguments", self.args_edit)
        layout.addLayout(form)
        self.args_label = QLabel()
        layout.addWidget(self.args_label)
        self.diagnostics_label = QLabel()
        self.diagnostics_label.setWordWrap(True)
        self.diagnostics_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.diagnostics_label)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Apply
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        layout.addWidget(self.buttons)

        self._timer = QTimer(self, singleShot=True, interval=250)
        self._timer.timeout.connect(self.check_syntax)
        self.editor.textChanged.connect(self._timer.start)
        self.args_edit.textChanged.connect(self._check_args)
        controller.checked.connect(self._on_checked)
        for signal in (doc.events.code_changed, doc.events.node_changed, doc.events.reset):
            listen(self, signal, self._follow_class)
        self.check_syntax()
        self._check_args()
        self._show_diagnostics()

    # -- the class name ---------------------------------------------------------------------------
    def _show_class_name(self) -> None:
        doc = self.controller.document
        users = [n for d in doc.project.definitions.values() for n in d.nodes.values()
                 if n.type == "Code" and n.params.get("class_name") == self.class_name]
        self.setWindowTitle(f"Code block — {self.class_name}")
        self.header.setText(f"<b>class {self.class_name}</b>"
                            + (f" <span style='color:{MUTED}'>— used by {len(users)} blocks; editing the class "
                               "changes them all</span>" if len(users) > 1 else ""))

    def _follow_class(self, *_) -> None:
        """The node's class was renamed elsewhere (the properties panel, undo): follow it, source included."""
        doc = self.controller.document
        node = doc.project.definitions.get(self.definition)
        node = node.nodes.get(self.node_id) if node is not None else None
        new = node.params.get("class_name", "") if node is not None else self.class_name
        if new == self.class_name or new not in doc.project.code:
            return
        old, self.class_name = self.class_name, new
        if self.name_edit.text().strip() == old:
            self.name_edit.setText(new)
        self._loaded_source = doc.project.code[new]
        if self.editor.document().isModified():   # keep the person's unsaved edits, under the new name
            self.editor.setPlainText(rename_class_statement(self.source(), old, new))
        else:
            self.editor.setPlainText(self._loaded_source)
            self.editor.document().setModified(False)
        self._show_class_name()
        self.check_syntax()

    # -- live checks ------------------------------------------------------------------------------
    def source(self) -> str:
        return self.editor.toPlainText()

    def check_syntax(self) -> bool:
        """Parse the source (nothing runs); the result is written under the editor."""
        try:
            find_class(self.source(), self.class_name)
            ports = forward_ports(self.source(), self.class_name)
        except CodeSyntaxError as err:
            self.syntax_label.setText(f"<span style='color:{ERROR_COLOR}'>⚠ {err}</span>")
            m = re.match(r"line (\d+):", str(err))
            self.editor.set_error_line(int(m.group(1)) if m else None)
            return False
        self.editor.set_error_line(None)
        self.syntax_label.setText(f"<span style='color:{OK_COLOR}'>✓ class {self.class_name}: "
                                  f"forward({', '.join(ports)})</span>")
        return True

    def args(self) -> dict | None:
        try:
            value = json.loads(self.args_edit.text() or "{}")
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def _check_args(self) -> None:
        if self.args() is None:
            self.args_label.setText(f"<span style='color:{ERROR_COLOR}'>⚠ The arguments must be a JSON object, "
                                    "such as {\"size\": 8}</span>")
        else:
            self.args_label.setText("")

    def _on_checked(self, result) -> None:
        doc = self.controller.document
        if not self.editor.document().isModified():
            current = doc.project.code.get(self.class_name, "")
            if current != self._loaded_source:  # changed elsewhere (undo): follow it
                self._loaded_source = current
                self.editor.setPlainText(current)
                self.editor.document().setModified(False)
        self.trust_label.setVisible(not doc.project.trusted)
        self._show_diagnostics()

    def _show_diagnostics(self) -> None:
        result = self.controller.result
        diags = [d for d in (result.diagnostics if result else ())
                 if d.definition == self.definition and d.node_id == self.node_id]
        lines = []
        for d in diags:
            color = ERROR_COLOR if d.is_error else "#b54708"
            message = d.message.replace("&", "&amp;").replace("<", "&lt;")
            lines.append(f"<span style='color:{color}'>{'Error' if d.is_error else 'Warning'}: {message}</span>")
        self.diagnostics_label.setText("<br>".join(lines))
        self.diagnostics_label.setVisible(bool(lines))

    # -- applying -------------------------------------------------------------------------------------
    def apply(self) -> bool:
        """Push the edits as one undo step; False (nothing pushed) when the arguments are not JSON or
        the new class name is refused (said in one sentence under the name)."""
        args = self.args()
        if args is None:
            self._check_args()
            return False
        doc = self.controller.document
        if self.node_id not in doc.definition(self.definition).nodes:
            return False
        old, new = self.class_name, self.name_edit.text().strip()
        problem = class_name_problem(doc, old, new) if new != old else None
        self.name_label.setText(problem or "")
        self.name_label.setVisible(problem is not None)
        if problem:
            return False
        source = rename_class_statement(self.source(), old, new) if new != old else self.source()
        renamed = rename_class_statement(doc.project.code.get(old, ""), old, new)
        if new == old and renamed == source and doc.node(self.definition, self.node_id).params.get("args", {}) == args:
            self.editor.document().setModified(False)
            return True   # nothing to change
        stack = self.controller.undo_stack
        stack.beginMacro(f"Edit code block {new}")
        try:   # commands are made as they are pushed: each one sees what the one before it did
            if new != old:
                self.controller.push(RenameCodeClass(doc, old, new))   # the editor follows it (_follow_class)
            if doc.project.code.get(new) != source:
                self.controller.push(SetCode(doc, new, source))
            if doc.node(self.definition, self.node_id).params.get("args", {}) != args:
                self.controller.push(SetParam(doc, self.definition, self.node_id, "args", args))
        finally:
            stack.endMacro()
        self.editor.setPlainText(source)
        self._loaded_source = source
        self.editor.document().setModified(False)
        self.check_syntax()
        return True

    def _ok(self) -> None:
        if self.apply():
            self.accept()
