from django import template

from beffroi.core.journal_labels import action_label

register = template.Library()
register.filter("action_label", action_label)
