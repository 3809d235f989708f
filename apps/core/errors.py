"""Domain errors: a refusal a user can act on, with a message in their language naming what is wrong."""
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A business rule refused the action. Nothing was changed.

    `field` names the input at fault (for forms and upload reports), `rule` the DOMAIN.md rule id.
    """

    status_code = 400
    default_message = _("操作不符合业务规则")

    def __init__(self, message=None, *, field: str | None = None, rule: str | None = None, code: str = "invalid"):
        self.message = message or self.default_message
        self.field = field
        self.rule = rule
        self.code = code
        super().__init__(str(self.message))

    def as_dict(self) -> dict:
        out = {"detail": str(self.message), "code": self.code}
        if self.field:
            out["field"] = self.field
        if self.rule:
            out["rule"] = self.rule
        return out


class NotVisible(DomainError):
    """The object does not exist for this user: outside their scope is the same as absent (no existence leak)."""

    status_code = 404
    default_message = _("未找到该记录")


class Conflict(DomainError):
    status_code = 409
    default_message = _("记录已存在或状态已变化，请刷新后重试")
