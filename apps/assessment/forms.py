from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import AuditWeights
from .services import WEIGHT_FIELDS


class WeightsForm(forms.ModelForm):
    class Meta:
        model = AuditWeights
        fields = WEIGHT_FIELDS

    def clean(self):
        data = super().clean()
        for name in ("rate", "public_rate", "shortfall"):
            value = data.get(name)
            if value is not None and value < Decimal(0):
                self.add_error(name, _("权重不能为负数"))
        if data.get("rate") == 0 and data.get("public_rate") == 0 and data.get("shortfall") == 0:
            raise forms.ValidationError(_("至少一项权重须大于 0"))
        if data.get("min_unit_people") == 0:
            self.add_error("min_unit_people", _("参与排名的单位最少人数须至少为 1"))
        return data


class RunForm(forms.Form):
    year = forms.IntegerField(label=_("考核年度"), min_value=1990, max_value=2100,
                              error_messages={"required": _("请选择考核年度"), "invalid": _("年度无效")})
