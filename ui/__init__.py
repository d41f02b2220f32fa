"""Sortscope's Qt widgets. They adapt the Qt-free core in `classifier/`; no logic lives here."""
