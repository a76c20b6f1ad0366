"""The canvas's look: a light theme, one colour per block category, sizes and fonts.

Plain data and small cached helpers, so other widgets (the palette) can reuse
the category colours and icons::

    from ui.canvas.theme import category_color, block_icon
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QIcon, QPixmap

from netstudio.catalog import get_block

# -- colours -------------------------------------------------------------------------
CATEGORY_COLORS: dict[str, str] = {
    "Inputs and outputs": "#0d9488",   # teal
    "Layers": "#3e63dd",               # indigo blue
    "Convolution": "#0090ff",          # blue
    "Pooling": "#00a2c7",              # cyan
    "Normalization": "#12a594",        # jade
    "Recurrent": "#5b5bd6",            # iris
    "Attention and Transformer": "#6e56cf",   # purple
    "Activations": "#e8590c",          # orange
    "Dropout": "#ad7f58",              # bronze
    "Padding": "#978365",              # gold
    "Embedding": "#30a46c",            # green
    "Shape and resampling": "#7c66dc",  # lavender
    "Distances": "#d6409f",            # pink
    "Losses": "#e5484d",               # red
    "Tensor operations": "#8e4ec6",    # violet
    "Containers": "#52607a",           # slate
    "Custom code": "#c2255c",          # raspberry
}
UNKNOWN_COLOR = "#868e96"

BACKGROUND = "#f6f7f9"
GRID_LINE = "#eceef2"
GRID_LINE_MAJOR = "#e1e4ea"

NODE_FILL = "#ffffff"
NODE_BORDER = "#d4d8df"
NODE_BORDER_HOVER = "#9aa3b2"
SELECTION = "#2f6fed"
SHADOW = QColor(16, 24, 40, 22)

TEXT = "#1d2330"
TEXT_MUTED = "#6b7384"
TEXT_FAINT = "#9aa1ae"

EDGE = "#98a1b0"
EDGE_SELECTED = SELECTION
EDGE_LABEL_FILL = "#ffffff"
EDGE_LABEL_BORDER = "#dde1e7"
EDGE_LABEL_TEXT = "#3d4555"
EDGE_LABEL_UNKNOWN = "#a0a7b4"

ERROR = "#e5484d"
WARNING = "#f59f00"
VALID = "#30a46c"

# One colour per tie group (nodes sharing one module's parameters).
TIE_COLORS = ("#d6409f", "#0b94d6", "#f76b15", "#12a594", "#8e4ec6", "#e5484d", "#46a758", "#ad7f58")

# -- sizes (scene units = pixels at 100 % zoom) ----------------------------------------
GRID = 10               # positions snap to this
GRID_DRAWN = 20         # dot spacing
NODE_WIDTH = 164.0
HEADER_HEIGHT = 28.0
LINE_HEIGHT = 17.0
BODY_PAD = 6.0
PORT_TOP = HEADER_HEIGHT + BODY_PAD + LINE_HEIGHT / 2   # from the node's top to its first port
PORT_SPACING = LINE_HEIGHT
PORT_RADIUS = 5.0
PORT_HIT_RADIUS = 12.0
CORNER = 8.0
BADGE_RADIUS = 8.5


def category_color(category: str) -> QColor:
    return QColor(CATEGORY_COLORS.get(category, UNKNOWN_COLOR))


def block_color(type_name: str) -> QColor:
    spec = get_block(type_name)
    return category_color(spec.category) if spec else QColor(UNKNOWN_COLOR)


def tint(color: QColor | str, amount: float, base: str = "#ffffff") -> QColor:
    """``color`` mixed into ``base``: 0 gives ``base``, 1 gives ``color``."""
    c, b = QColor(color), QColor(base)
    return QColor(round(b.red() + (c.red() - b.red()) * amount),
                  round(b.green() + (c.green() - b.green()) * amount),
                  round(b.blue() + (c.blue() - b.blue()) * amount))


def tie_color(index: int) -> QColor:
    return QColor(TIE_COLORS[index % len(TIE_COLORS)])


# -- icons -------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def icon(name: str, color: str = TEXT_MUTED) -> QIcon:
    """A qtawesome icon (an empty icon if the name is unknown)."""
    import qtawesome as qta
    try:
        return qta.icon(name, color=color)
    except Exception:  # an unknown icon name must not break the canvas
        return QIcon()


def block_icon(type_name: str, color: str | None = None) -> QIcon:
    spec = get_block(type_name)
    name = spec.icon if spec else "mdi6.help-box"
    return icon(name, color or block_color(type_name).name())


@lru_cache(maxsize=512)
def icon_pixmap(name: str, color: str, size: int, dpr: float = 1.0) -> QPixmap:
    pm = icon(name, color).pixmap(round(size * dpr), round(size * dpr))
    pm.setDevicePixelRatio(dpr)
    return pm


# -- fonts -----------------------------------------------------------------------------
@lru_cache(maxsize=None)
def font(role: str) -> QFont:
    """Pixel-sized fonts, so nodes look the same on every screen at 100 %."""
    f = QFont()
    size, weight = {"title": (12.5, QFont.Weight.DemiBold), "body": (11.0, QFont.Weight.Normal),
                    "small": (10.0, QFont.Weight.Normal), "label": (10.0, QFont.Weight.Medium),
                    "badge": (11.0, QFont.Weight.Bold)}[role]
    f.setPixelSize(round(size))
    f.setWeight(weight)
    f.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    return f


@lru_cache(maxsize=None)
def metrics(role: str) -> QFontMetricsF:
    return QFontMetricsF(font(role))


def elide(text: str, role: str, width: float) -> str:
    return metrics(role).elidedText(text, Qt.TextElideMode.ElideRight, width)
