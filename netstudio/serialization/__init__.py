"""Project files: versioned JSON, validated on every load."""

from .project_file import (SUFFIX, ProjectFile, load_project, load_project_and_weights, load_project_file,
                           project_from_dict, project_to_json, save_project)
from .validate import validate_project

__all__ = ["SUFFIX", "ProjectFile", "load_project", "load_project_and_weights", "load_project_file",
           "project_from_dict", "project_to_json", "save_project", "validate_project"]
