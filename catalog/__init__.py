"""The service catalog: HOCON files under services/ layered per environment into typed, rendered services.

Pure Python (pyhocon, pydantic): no Pulumi, no network. The program turns each ServiceSpec into an AppService.
"""

from .layers import CLUSTER, SECRET_ENV, SERVICE_PORT, Address, Placement
from .loader import Catalog, SecretEnv, ServiceSpec, load_catalog
from .model import Deploy
from .problems import CatalogError, Problem
from .render import config_hash, render_application_conf

__all__ = [
    "CLUSTER",
    "Address",
    "Placement",
    "SECRET_ENV",
    "SERVICE_PORT",
    "Catalog",
    "CatalogError",
    "Deploy",
    "Problem",
    "SecretEnv",
    "ServiceSpec",
    "config_hash",
    "load_catalog",
    "render_application_conf",
]
