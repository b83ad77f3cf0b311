"""Resource namespaces of ``BriaClient``: one module per part of Bria's API."""

from bria_api.resources.datasets import Datasets
from bria_api.resources.generation import Generation
from bria_api.resources.images import Images
from bria_api.resources.models import Models
from bria_api.resources.projects import Projects

__all__ = ["Datasets", "Generation", "Images", "Models", "Projects"]
