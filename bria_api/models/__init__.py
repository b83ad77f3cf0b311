"""Typed request and response models for every Bria operation."""

from bria_api.models.datasets import *  # noqa: F401,F403
from bria_api.models.enums import *  # noqa: F401,F403
from bria_api.models.generation import *  # noqa: F401,F403
from bria_api.models.projects import *  # noqa: F401,F403
from bria_api.models.tailored_models import *  # noqa: F401,F403
