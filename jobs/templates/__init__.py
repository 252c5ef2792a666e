"""The Liquid template library: loading, variable precedence, deploy to workspaces."""

from jobs.templates.library import TemplateLibrary, TemplateSpec, load_library
from jobs.templates.variables import merge_variables, retailer_variables

__all__ = [
    "TemplateLibrary",
    "TemplateSpec",
    "load_library",
    "merge_variables",
    "retailer_variables",
]
