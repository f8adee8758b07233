from . import portal
from . import portal_self_service
