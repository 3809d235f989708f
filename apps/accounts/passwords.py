"""Password rules beyond Django's validators: characters from at least three classes."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def character_classes(password: str) -> int:
    """How many of the four classes (upper case, lower case, digit, anything else — a symbol, a space, a Chinese
    character) `password` draws on."""
    return sum((
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not (c.isupper() or c.islower() or c.isdigit()) for c in password),  # symbols, Chinese characters
    ))


class CharacterClassesValidator:
    """At least `min_classes` of: upper-case letters, lower-case letters, digits, other characters."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password: str, user=None) -> None:
        if character_classes(password) < self.min_classes:
            raise ValidationError(self.get_error_message(), code="password_too_simple")

    def get_error_message(self) -> str:
        return ngettext(
            "密码须包含大写字母、小写字母、数字、其他符号中的至少 %(n)d 类。",
            "密码须包含大写字母、小写字母、数字、其他符号中的至少 %(n)d 类。",
            self.min_classes) % {"n": self.min_classes}

    def get_help_text(self) -> str:
        return _("密码至少 8 位，并包含大写字母、小写字母、数字、其他符号中的至少 3 类。")
