from django import template

register = template.Library()


@register.filter
def percent(rate) -> str:
    """0.8234 → 82.3%; no rate (nobody to count) → —."""
    return "—" if rate is None or rate == "" else f"{float(rate) * 100:.1f}%"
