"""Text from clients, limited to what every database can store: PostgreSQL refuses NUL."""

from __future__ import annotations


def storable(text: str) -> str:
    """The text itself, or ValueError if PostgreSQL could not store it.

    Use it as `AfterValidator(storable)` after any length constraints of a text field.
    """
    if "\x00" in text:
        raise ValueError("must not contain NUL (U+0000) characters")
    return text
