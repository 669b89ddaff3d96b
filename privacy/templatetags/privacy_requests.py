from django import template

from privacy import queries

register = template.Library()


@register.filter
def time_left(request) -> str:
    return queries.deadline(request).label


@register.filter
def deadline_css(request) -> str:
    return queries.deadline(request).css
