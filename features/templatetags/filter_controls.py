"""`{% filter_control filterset.form.team %}`: a list page's filter as its widget would render it, built in
Python.

A widget renders through the form renderer's templates, one template per `<option>` and per attribute list:
1.5 ms of the review queue's 5 ms of rendering. The markup is the same (name, id, value, the selected
option, `aria-invalid` and the like from the bound field; tests/features/test_listing.py compares them);
any widget but a text input or a single select with flat choices is left to Django.
"""

from django import forms
from django.template import Library
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = Library()


@register.simple_tag
def filter_control(field: forms.BoundField) -> SafeString:
    widget = field.field.widget
    attrs = field.build_widget_attrs({}, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    attrs = widget.build_attrs(widget.attrs, attrs)
    if type(widget) is forms.TextInput:
        value = widget.format_value(field.value())
        shown = format_html(' value="{}"', value) if value is not None else ""
        return format_html('<input type="{}" name="{}"{}{}>', widget.input_type, field.html_name, shown, _attrs(attrs))
    if type(widget) is forms.Select:
        choices = list(_choices(field.field))
        if not any(isinstance(label, list | tuple) for _value, label in choices):  # no option groups
            options = format_html_join("", "\n  <option{}>{}</option>", _options(field, widget, choices))
            return format_html('<select name="{}"{}>{}\n</select>', field.html_name, _attrs(attrs), options)
    return field.as_widget()


def _options(field: forms.BoundField, widget: forms.Select, choices: list):
    """(attributes, label) of each option, the first one whose value the field holds selected."""
    held = set(widget.format_value(field.value()))
    selected = False
    for value, label in choices:
        value = "" if value is None else str(value)
        option = {"value": value}
        if not selected and value in held:
            option["selected"] = selected = True
        yield _attrs(option), label


def _choices(field: forms.Field):
    if isinstance(field, forms.ModelChoiceField):
        # The field's own iterator reads with .iterator(): a server-side cursor on PostgreSQL, three round
        # trips for a handful of teams. A plain query reads the same rows in one.
        if field.empty_label is not None:
            yield "", field.empty_label
        if getattr(field, "null_label", None) is not None:  # django-filter's "none of them" choice
            yield field.null_value, field.null_label
        for instance in field.queryset:
            yield field.prepare_value(instance), field.label_from_instance(instance)
        return
    yield from field.choices


def _attrs(attrs: dict) -> SafeString:
    """HTML attributes as Django's widgets write them (attrs.html): True as a bare name, False left out."""
    return mark_safe(  # noqa: S308 - every name and value is escaped here
        "".join(_attr(conditional_escape(name), value) for name, value in attrs.items() if value is not False)
    )


def _attr(name: str, value) -> str:
    return f" {name}" if value is True else f' {name}="{conditional_escape(value)}"'
